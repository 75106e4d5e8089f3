package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "golang.org/x/image/webp"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// mustNotHang bounds every wait in these tests. It is far above what any
// step takes, so that only a hang trips it.
const mustNotHang = testproc.MustNotHang

func TestMain(m *testing.M) {
	code := m.Run()
	testproc.Cleanup()
	os.Exit(code)
}

// proxyProcess is a running avatarproxy.
type proxyProcess struct {
	*testproc.Process
	url string // http://127.0.0.1:PORT
}

// startProxy runs the binary in dir with the configuration text (none:
// the embedded default) and env added to the test's environment, as
// testproc.Proxy does, for a proxy answering on addr.
func startProxy(t *testing.T, dir, addr, config string, env ...string) *proxyProcess {
	t.Helper()
	return &proxyProcess{Process: testproc.Proxy(t, dir, addr, config, env...), url: "http://" + addr}
}

// startWithConfig starts avatarproxy, with env added to the test's
// environment, on a free address and the configuration conf, to which it
// adds the listen key.
func startWithConfig(t *testing.T, env []string, conf string) *proxyProcess {
	t.Helper()
	addr := testproc.FreeAddr(t)
	return startProxy(t, t.TempDir(), addr, fmt.Sprintf("listen: %q\n", addr)+conf, env...)
}

// writeConfig writes a configuration file into a fresh directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "avatarproxy.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// get sends a GET with optional header pairs and reads the whole body.
func get(t *testing.T, client *http.Client, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, body
}

// checkImage asserts that resp is a 200 carrying an edge x edge image of
// the content type want.
func checkImage(t *testing.T, url string, resp *http.Response, body []byte, want string, edge int) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: status %d, want 200; body %q", url, resp.StatusCode, body)
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != want {
		t.Errorf("GET %s: Content-Type %q, want %q", url, ct, want)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		t.Errorf("GET %s: body does not decode: %v", url, err)
		return
	}
	if "image/"+format != want {
		t.Errorf("GET %s: body is %s, labelled %s", url, format, want)
	}
	if cfg.Width != edge || cfg.Height != edge {
		t.Errorf("GET %s: %dx%d image, want %dx%d", url, cfg.Width, cfg.Height, edge, edge)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestServesFileUpstream(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"alice.jpg", "bob.png"} {
		copyFile(t, filepath.Join(testproc.RepoRoot(t), "examples", "avatars", name), filepath.Join(root, name))
	}
	p := startWithConfig(t, nil, fmt.Sprintf(`
upstreams:
  - {name: pics, kind: file, root: %q}
`, root))
	client := &http.Client{Timeout: mustNotHang}

	for _, tc := range []struct {
		query  string
		accept string
		want   string
		edge   int
	}{
		{"alice?size=37", "", "image/jpeg", 37},     // an opaque photo stays JPEG
		{"bob?size=50&dpr=2", "", "image/png", 100}, // alpha stays PNG; dpr doubles the edge
		{"alice?size=120&format=png", "", "image/png", 120},
		{"bob?size=33", "image/webp,*/*", "image/webp", 33},
		{"erin?size=64&format=png", "", "image/png", 64}, // not in root: the identicon
	} {
		url := p.url + "/avatar/pics/" + tc.query
		var header []string
		if tc.accept != "" {
			header = []string{"Accept", tc.accept}
		}
		resp, body := get(t, client, url, header...)
		checkImage(t, url, resp, body, tc.want, tc.edge)
	}
}

// TestEmbeddedDefault runs the binary as `make run` does: no -config, from
// the repository root, serving the sample avatars.
func TestEmbeddedDefault(t *testing.T) {
	addr := testproc.FreeAddr(t)
	p := startProxy(t, testproc.RepoRoot(t), addr, "", "AVATARPROXY_LISTEN="+addr)
	client := &http.Client{Timeout: mustNotHang}
	url := p.url + "/avatar/local/alice?size=64"
	resp, body := get(t, client, url)
	checkImage(t, url, resp, body, "image/jpeg", 64)
	if got := resp.Header.Get("Surrogate-Key"); got != "avatar avatar-local-alice" {
		t.Errorf("Surrogate-Key %q, want %q", got, "avatar avatar-local-alice")
	}
}

func TestCheckConfig(t *testing.T) {
	root := t.TempDir()
	valid := writeConfig(t, fmt.Sprintf(`
listen: "127.0.0.1:0"
upstreams:
  - {name: pics, kind: file, root: %q}
`, root))
	out, err := exec.Command(testproc.Binary(t), "-check-config", "-config", valid).CombinedOutput()
	if err != nil {
		t.Fatalf("-check-config on a valid file: %v\n%s", err, out)
	}

	invalid := writeConfig(t, fmt.Sprintf(`
listen: "nowhere"
default_avatar: robot
upstreams:
  - {name: pics, kind: ftp, root: %q}
cache:
  max_bytes: 0
resize:
  quality: 101
`, root))
	// Each problem, by the words its line must hold.
	problems := [][]string{
		{"listen"},
		{"default_avatar"},
		{"upstreams[0]", "kind"},
		{"cache.max_bytes"},
		{"resize.quality"},
	}
	cmd := exec.Command(testproc.Binary(t), "-check-config", "-config", invalid)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("-check-config on an invalid file: %v, want exit status 2\n%s%s", err, &stdout, &stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()+stderr.String()), "\n")
	if len(lines) != len(problems) {
		t.Errorf("%d lines, want one per problem (%d):\n%s", len(lines), len(problems), strings.Join(lines, "\n"))
	}
	for _, words := range problems {
		n := 0
		for _, line := range lines {
			if containsAll(line, words) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d lines name %s, want 1:\n%s", n, strings.Join(words, " "), strings.Join(lines, "\n"))
		}
	}
}

// The shared Redis tier's keys are accepted, and checked.
func TestCheckConfigRedis(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		cache string
		code  int
		want  string
	}{
		{"{redis_url: 'redis://127.0.0.1:6379/0'}", 0, "configuration ok"},
		{"{redis_url: 'redis://10.0.0.1:6379?addr=10.0.0.2:6379', redis_cluster: true, redis_max_value_bytes: 4MiB, redis_timeout: 20ms}", 0, "configuration ok"},
		{"{redis_cluster: true}", 2, "cache.redis_cluster: set without cache.redis_url"},
		{"{redis_url: 'redis://127.0.0.1:6379', redis_timeout: 0s}", 2, "cache.redis_timeout"},
	} {
		cfg := writeConfig(t, fmt.Sprintf("upstreams:\n  - {name: pics, kind: file, root: %q}\ncache: %s\n", root, tc.cache))
		out, err := exec.Command(testproc.Binary(t), "-check-config", "-config", cfg).CombinedOutput()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("cache: %s: exit %d, %q; want %d and %q", tc.cache, code, out, tc.code, tc.want)
		}
	}
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}
