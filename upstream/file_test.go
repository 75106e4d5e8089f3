package upstream_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// fileRoot makes dir/avatars as the root, with dir itself holding files
// that must stay out of reach.
func fileRoot(t *testing.T) (root, outside string) {
	t.Helper()
	outside = t.TempDir()
	root = filepath.Join(outside, "avatars")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFileFetch(t *testing.T) {
	root, _ := fileRoot(t)
	jpg := testimages.SeededJPEG("alice", 64, 64)
	writeFile(t, filepath.Join(root, "alice.jpg"), jpg)
	writeFile(t, filepath.Join(root, "alice.png"), testimages.SeededPNG("alice-png", 64, 64))
	png := testimages.SeededPNG("bob", 32, 32)
	writeFile(t, filepath.Join(root, "bob.png"), png)
	if err := os.Mkdir(filepath.Join(root, "dir.jpg"), 0o755); err != nil {
		t.Fatal(err)
	}

	var obs observer
	src := newSource(t, config.Upstream{Kind: "file", Root: root}, upstream.Options{Observe: obs.observe})

	if o := mustFetch(t, src, "alice", upstream.Validators{}); !bytes.Equal(o.Body, jpg) {
		t.Errorf("alice: got %d bytes, want alice.jpg (.jpg is tried first)", len(o.Body))
	}
	if o := mustFetch(t, src, "bob", upstream.Validators{}); !bytes.Equal(o.Body, png) {
		t.Errorf("bob: got %d bytes, want bob.png", len(o.Body))
	}
	o, err := fetch(t, src, "carol", upstream.Validators{})
	wantNotFound(t, o, err)
	o, err = fetch(t, src, "dir", upstream.Validators{})
	wantNotFound(t, o, err)

	if got, want := obs.take(), []string{"200", "200", "404", "404"}; !slices.Equal(got, want) {
		t.Errorf("Observe codes = %v, want %v", got, want)
	}
}

func TestFileConditional(t *testing.T) {
	root, _ := fileRoot(t)
	path := filepath.Join(root, "alice.png")
	writeFile(t, path, testimages.SeededPNG("v1", 16, 16))

	var obs observer
	src := newSource(t, config.Upstream{Kind: "file", Root: root}, upstream.Options{Observe: obs.observe})
	first := mustFetch(t, src, "alice", upstream.Validators{})
	if first.Validators.ETag == "" || first.Validators.LastModified == "" {
		t.Fatalf("validators = %+v, want an ETag and a Last-Modified", first.Validators)
	}

	again := mustFetch(t, src, "alice", first.Validators)
	if !again.NotModified || again.Body != nil {
		t.Errorf("unchanged file: got NotModified=%v with %d bytes, want NotModified and no body", again.NotModified, len(again.Body))
	}
	byDate := mustFetch(t, src, "alice", upstream.Validators{LastModified: first.Validators.LastModified})
	if !byDate.NotModified {
		t.Error("unchanged file by Last-Modified alone: not NotModified")
	}

	v2 := testimages.SeededPNG("v2-longer-seed", 24, 24)
	writeFile(t, path, v2)
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	changed := mustFetch(t, src, "alice", first.Validators)
	if changed.NotModified || !bytes.Equal(changed.Body, v2) {
		t.Errorf("changed file: NotModified=%v, body equal=%v; want the new bytes", changed.NotModified, bytes.Equal(changed.Body, v2))
	}
	if changed.Validators == first.Validators {
		t.Error("validators did not change with the file")
	}
	if got, want := obs.take(), []string{"200", "304", "304", "200"}; !slices.Equal(got, want) {
		t.Errorf("Observe codes = %v, want %v", got, want)
	}
}

func TestFileRefusesPaths(t *testing.T) {
	root, outside := fileRoot(t)
	secret := testimages.SeededJPEG("secret", 8, 8)
	writeFile(t, filepath.Join(outside, "x.jpg"), secret)
	writeFile(t, filepath.Join(outside, "secret.jpg"), secret)
	writeFile(t, filepath.Join(root, ".hidden.jpg"), secret)
	if err := os.Mkdir(filepath.Join(root, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "a", "b.jpg"), secret)
	if err := os.Symlink(filepath.Join(outside, "secret.jpg"), filepath.Join(root, "link.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret.jpg", filepath.Join(root, "rel.jpg")); err != nil {
		t.Fatal(err)
	}

	src := newSource(t, config.Upstream{Kind: "file", Root: root}, upstream.Options{})
	for _, id := range []string{"../x", "../secret", "a/b", `a\b`, "%2e%2e/x", "%2e%2e", "..", ".", "", ".hidden", "x\x00", "/etc/passwd"} {
		o, err := fetch(t, src, id, upstream.Validators{})
		wantNotFound(t, o, err)
	}
	// A link that leads out of root is an error, never the file it names.
	for _, id := range []string{"link", "rel"} {
		o, err := fetch(t, src, id, upstream.Validators{})
		if err == nil || o != nil {
			t.Errorf("%s: got (%v, %v), want an error", id, o, err)
			continue
		}
		if errors.Is(err, upstream.ErrNotFound) {
			continue
		}
		if r := reasonOf(t, err); r == "" {
			t.Errorf("%s: empty reason", id)
		}
	}
}

func TestFileTooLarge(t *testing.T) {
	root, _ := fileRoot(t)
	writeFile(t, filepath.Join(root, "big.png"), testimages.SeededPNG("big", 64, 64))
	var obs observer
	src := newSource(t, config.Upstream{Kind: "file", Root: root}, upstream.Options{MaxBytes: 100, Observe: obs.observe})
	_, err := fetch(t, src, "big", upstream.Validators{})
	if r := reasonOf(t, err); r != "too-large" {
		t.Errorf("reason = %q, want too-large", r)
	}
	if got := obs.take(); !slices.Equal(got, []string{"error"}) {
		t.Errorf("Observe codes = %v, want [error]", got)
	}
}

func TestFileRootMustExist(t *testing.T) {
	c := config.Default()
	c.Upstreams = []config.Upstream{{Name: "f", Kind: "file", Root: filepath.Join(t.TempDir(), "missing")}}
	if err := c.Validate(upstream.Kinds()); err == nil || !strings.Contains(err.Error(), "upstreams[0] (f).root: ") {
		t.Fatalf("a missing root: %v, want a problem naming root", err)
	}
}

func TestFileConfig(t *testing.T) {
	plain := filepath.Join(t.TempDir(), "plain")
	writeFile(t, plain, nil)
	local := config.Upstream{Name: "local", Kind: "file", Root: t.TempDir()}
	checkConfigCases(t, local, []configCase{
		{"valid", nil, ""},
		{"root missing", func(u *config.Upstream) { u.Root = "" }, "upstreams[0] (local).root: is required for kind file"},
		{"root absent", func(u *config.Upstream) { u.Root = filepath.Join(plain, "none") }, "upstreams[0] (local).root: "},
		{"root not a directory", func(u *config.Upstream) { u.Root = plain }, "upstreams[0] (local).root: " + plain + " is not a directory"},
		{"base_url", func(u *config.Upstream) { u.BaseURL = "https://x.test" }, "upstreams[0] (local).base_url: does not apply to kind file"},
		{"timeout", func(u *config.Upstream) { u.Timeout = config.Duration(time.Second) }, "upstreams[0] (local).timeout: does not apply"},
	})
}
