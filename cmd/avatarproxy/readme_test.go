package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// readmeTour returns the shell block of the README's Quick start that
// walks through the proxy with curl.
func readmeTour(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(testproc.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quick start\n")
	if !ok {
		t.Fatal("README.md has no Quick start section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, block := range strings.Split(section, "```sh\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, "curl ") {
			return block
		}
	}
	t.Fatal("the Quick start of README.md has no shell block with curl")
	return ""
}

// tourStep is one command of the tour, with what it printed and the
// README's comment lines that show its output.
type tourStep struct {
	command string
	output  string
	shown   []string
}

// runTour runs the tour's commands in one shell, as pasted, with
// localhost:8080 replaced by addr, and returns each command's output.
func runTour(t *testing.T, tour, addr, dir string) []tourStep {
	t.Helper()
	const marker = "@@tour-step@@"
	var steps []tourStep
	var script strings.Builder
	script.WriteString("set -e\n")
	for _, line := range strings.Split(tour, "\n") {
		switch {
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "#"):
			if len(steps) == 0 {
				t.Fatalf("README tour: output line %q before any command", line)
			}
			last := &steps[len(steps)-1]
			last.shown = append(last.shown, strings.TrimSpace(strings.TrimPrefix(line, "#")))
		default:
			steps = append(steps, tourStep{command: line})
			fmt.Fprintf(&script, "echo '%s'\n%s\n", marker, strings.ReplaceAll(line, "localhost:8080", addr))
		}
	}
	cmd := exec.Command("sh", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = testproc.Env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	outputs := strings.Split(string(out), marker+"\n")[1:]
	if err != nil {
		t.Fatalf("README tour: %v after %d of %d commands, the last being\n  %s\nstderr:\n%s",
			err, len(outputs), len(steps), steps[max(len(outputs), 1)-1].command, &stderr)
	}
	if len(outputs) != len(steps) {
		t.Fatalf("README tour: %d commands ran, want %d", len(outputs), len(steps))
	}
	for i := range steps {
		steps[i].output = outputs[i]
	}
	return steps
}

// TestReadmeQuickTour runs the README's quick tour, as a user pastes it,
// against the binary as `make run` starts it, and checks each step.
func TestReadmeQuickTour(t *testing.T) {
	testproc.Need(t, "curl")
	tour := readmeTour(t)
	addr := testproc.FreeAddr(t)
	startProxy(t, testproc.RepoRoot(t), addr, "", "AVATARPROXY_LISTEN="+addr)
	dir := t.TempDir()
	steps := runTour(t, tour, addr, dir)

	file := func(name string) []byte {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("the tour wrote no %s: %v", name, err)
		}
		return data
	}
	checks := []struct {
		command string // a part of the step's command that identifies it
		check   func(tourStep)
	}{
		{"/avatar/local/alice?size=64", func(s tourStep) {
			checkShownResponse(t, s)
			checkFile(t, "alice.jpg", file("alice.jpg"), "jpeg", 64)
		}},
		{"/avatar/local/bob?size=40&dpr=2", func(tourStep) {
			checkFile(t, "bob.webp", file("bob.webp"), "webp", 80)
		}},
		{"/avatar/local/dave?size=256&format=png", func(tourStep) {
			checkFile(t, "dave.png", file("dave.png"), "png", 256)
		}},
		{"/avatar/local/nobody?format=png", func(tourStep) {
			data := file("nobody.png")
			checkFile(t, "nobody.png", data, "png", 80)
			checkIdenticon(t, data)
		}},
		{"/avatar/local/nobody?d=404", func(s tourStep) {
			checkOutput(t, s, "404\n")
		}},
		{"etag=", func(s tourStep) {
			checkOutput(t, s, "")
		}},
		{"If-None-Match", func(s tourStep) {
			checkOutput(t, s, "304\n")
		}},
		{"/metrics", func(s tourStep) {
			checkCacheMetrics(t, s)
		}},
	}
	if len(steps) != len(checks) {
		t.Fatalf("README tour has %d commands, this test checks %d", len(steps), len(checks))
	}
	for i, c := range checks {
		if !strings.Contains(steps[i].command, c.command) {
			t.Fatalf("README tour command %d is\n  %s\nwant one with %q", i+1, steps[i].command, c.command)
		}
		c.check(steps[i])
	}
}

// checkShownResponse compares the response headers a step printed with
// the lines the README shows under it; a shown value ending in "..." is a
// prefix.
func checkShownResponse(t *testing.T, s tourStep) {
	t.Helper()
	got := strings.Split(strings.ReplaceAll(s.output, "\r", ""), "\n")
	if len(s.shown) == 0 || got[0] != s.shown[0] {
		t.Errorf("%s\nprinted status line %q, the README shows %q", s.command, got[0], s.shown)
		return
	}
	for _, want := range s.shown[1:] {
		name, value, _ := strings.Cut(want, ": ")
		prefix, isPrefix := strings.CutSuffix(value, "...")
		found := false
		for _, line := range got[1:] {
			n, v, _ := strings.Cut(line, ": ")
			if strings.EqualFold(n, name) && (v == value || isPrefix && strings.HasPrefix(v, prefix)) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s\nprinted no %q; it printed:\n%s", s.command, want, s.output)
		}
	}
}

func checkOutput(t *testing.T, s tourStep, want string) {
	t.Helper()
	if s.output != want {
		t.Errorf("%s\nprinted %q, want %q", s.command, s.output, want)
	}
}

// checkFile asserts that data is an edge x edge image in format.
func checkFile(t *testing.T, name string, data []byte, format string, edge int) {
	t.Helper()
	cfg, got, err := image.DecodeConfig(bytes.NewReader(data))
	switch {
	case err != nil:
		t.Errorf("%s does not decode: %v", name, err)
	case got != format:
		t.Errorf("%s is %s, want %s", name, got, format)
	case cfg.Width != edge || cfg.Height != edge:
		t.Errorf("%s is %dx%d, want %dx%d", name, cfg.Width, cfg.Height, edge, edge)
	}
}

// checkIdenticon asserts that the image has the identicon's light
// background in its corner and mirrors left and right.
func checkIdenticon(t *testing.T, data []byte) {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	near := func(a, b color.Color) bool {
		r1, g1, b1, _ := a.RGBA()
		r2, g2, b2, _ := b.RGBA()
		d := func(x, y uint32) bool { return max(x, y)-min(x, y) <= 0x0800 }
		return d(r1, r2) && d(g1, g2) && d(b1, b2)
	}
	if !near(img.At(b.Min.X, b.Min.Y), color.RGBA{0xf0, 0xf0, 0xf0, 0xff}) {
		t.Errorf("nobody.png: corner %v, want the identicon background #f0f0f0", img.At(b.Min.X, b.Min.Y))
	}
	colours := map[color.Color]bool{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			colours[img.At(x, y)] = true
			if mirror := img.At(b.Max.X-1-(x-b.Min.X), y); !near(img.At(x, y), mirror) {
				t.Fatalf("nobody.png: (%d,%d) is %v but its mirror is %v: not an identicon", x, y, img.At(x, y), mirror)
			}
		}
	}
	if len(colours) < 2 {
		t.Error("nobody.png is one flat colour: not an identicon")
	}
}

var cacheMetric = regexp.MustCompile(`^(avatarproxy_cache_[a-z_]+)(\{[^}]*\})? ([0-9.e+]+)$`)

// checkCacheMetrics asserts that the tour's last step printed the cache
// metrics, with the conditional request counted as a hit of a variant.
func checkCacheMetrics(t *testing.T, s tourStep) {
	t.Helper()
	values := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(s.output), "\n") {
		m := cacheMetric.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("%s\nprinted %q, not a cache metric", s.command, line)
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Errorf("%q: %v", line, err)
		}
		values[m[1]+m[2]] = v
	}
	for _, name := range []string{`avatarproxy_cache_hits_total{tier="variant"}`, `avatarproxy_cache_misses_total{tier="variant"}`} {
		if values[name] < 1 {
			t.Errorf("%s\nprinted %s = %v, want at least 1; it printed:\n%s", s.command, name, values[name], s.output)
		}
	}
}

// TestSampleConfig checks examples/avatarproxy.yaml with -check-config,
// its variables set to dummies, and that it shows every upstream kind the
// proxy knows.
func TestSampleConfig(t *testing.T) {
	path := filepath.Join(testproc.RepoRoot(t), "examples", "avatarproxy.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := testproc.Env()
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(string(data), -1) {
		env = append(env, m[1]+"=dummy-"+strings.ToLower(m[1]))
	}
	cmd := exec.Command(testproc.Binary(t), "-check-config", "-config", path)
	cmd.Dir = testproc.RepoRoot(t) // where `make run` runs, which the file's root is relative to
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("-check-config -config %s: %v\n%s", path, err, out)
	}

	var sample struct {
		Upstreams []struct {
			Kind string `yaml:"kind"`
		} `yaml:"upstreams"`
	}
	if err := yaml.Unmarshal(data, &sample); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, u := range sample.Upstreams {
		kinds = append(kinds, u.Kind)
	}
	for _, kind := range upstream.Kinds().Names() {
		if !slices.Contains(kinds, kind) {
			t.Errorf("examples/avatarproxy.yaml has no upstream of kind %s", kind)
		}
	}
}

// TestHealthcheckFollowsConfiguredPort runs -healthcheck with the
// configuration file and the environment the server reads.
func TestHealthcheckFollowsConfiguredPort(t *testing.T) {
	addr := testproc.FreeAddr(t)
	avatars := filepath.Join(testproc.RepoRoot(t), "examples", "avatars")
	servingText := fmt.Sprintf("listen: %q\nupstreams:\n  - {name: local, kind: file, root: %q}\n", addr, avatars)
	startProxy(t, t.TempDir(), addr, servingText)
	serving := writeConfig(t, servingText)

	healthcheck := func(env []string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(testproc.Binary(t), append([]string{"-healthcheck"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			if exit, ok := err.(*exec.ExitError); ok {
				return exit.ExitCode(), string(out)
			}
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := healthcheck(testproc.Env(), "-config", serving); code != 0 {
		t.Errorf("-healthcheck with the server's configuration: exit %d, want 0\n%s", code, out)
	}

	idle := testproc.FreeAddr(t)
	elsewhere := writeConfig(t, fmt.Sprintf("listen: %q\nupstreams:\n  - {name: local, kind: file, root: %q}\n", idle, avatars))
	if code, out := healthcheck(testproc.Env(), "-config", elsewhere); code != 1 || !strings.Contains(out, idle) {
		t.Errorf("-healthcheck with nothing on %s: exit %d, want 1 with a message naming the address\n%s", idle, code, out)
	}
	if code, out := healthcheck(testproc.Env("AVATARPROXY_LISTEN="+addr), "-config", elsewhere); code != 0 {
		t.Errorf("-healthcheck with AVATARPROXY_LISTEN=%s: exit %d, want 0\n%s", addr, code, out)
	}

	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "draining", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	unhealthy := writeConfig(t, fmt.Sprintf("listen: %q\nupstreams:\n  - {name: local, kind: file, root: %q}\n", failing.Listener.Addr(), avatars))
	if code, out := healthcheck(testproc.Env(), "-config", unhealthy); code != 1 || !strings.Contains(out, "503") {
		t.Errorf("-healthcheck against a 503: exit %d, want 1 naming the status\n%s", code, out)
	}
}

func TestHealthzURL(t *testing.T) {
	for _, c := range []struct{ listen, want string }{
		{":8080", "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/healthz"},
		{"[::]:9000", "http://[::1]:9000/healthz"},
		{"127.0.0.2:80", "http://127.0.0.2:80/healthz"},
		{"avatars.internal:8080", "http://avatars.internal:8080/healthz"},
	} {
		if got, err := healthzURL(c.listen); err != nil || got != c.want {
			t.Errorf("healthzURL(%q) = %q, %v; want %q", c.listen, got, err, c.want)
		}
	}
	for _, listen := range []string{":0", "8080", ""} {
		if got, err := healthzURL(listen); err == nil {
			t.Errorf("healthzURL(%q) = %q, want an error", listen, got)
		}
	}
}
