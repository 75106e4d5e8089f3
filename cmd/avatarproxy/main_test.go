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
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// binPath is the avatarproxy binary TestMain builds; empty when there is no
// go command to build it with, and then the tests skip.
var binPath string

// mustNotHang bounds every wait in these tests. It is far above what any
// step takes, so that only a hang trips it.
const mustNotHang = 60 * time.Second

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "no go command to build avatarproxy with; its process tests will skip")
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "avatarproxy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "avatarproxy")
	if out, err := exec.Command(goCmd, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	binPath = bin
	return m.Run()
}

func needBinary(t *testing.T) {
	t.Helper()
	if binPath == "" {
		t.Skip("no go command, so no avatarproxy binary")
	}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proxyProcess is a running avatarproxy.
type proxyProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string // http://127.0.0.1:PORT
	logs   *syncBuffer
	exited chan struct{} // closed once the process has been waited for
	state  *os.ProcessState
}

// testEnv is the test's environment without AVATARPROXY_ overrides that
// would change what the process under test reads, plus extra.
func testEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AVATARPROXY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// startProxy runs the binary in dir with args, waits until it answers
// /healthz on addr, and kills it at the end of the test if it is still
// running.
func startProxy(t *testing.T, addr, dir string, env []string, args ...string) *proxyProcess {
	t.Helper()
	p := &proxyProcess{t: t, url: "http://" + addr, logs: new(syncBuffer), exited: make(chan struct{})}
	p.cmd = exec.Command(binPath, args...)
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("avatarproxy output:\n%s", p.logs)
		}
	})

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(mustNotHang)
	for {
		resp, err := client.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("avatarproxy exited before serving (%v):\n%s", p.state, p.logs)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("avatarproxy did not answer /healthz on %s", addr)
		}
	}
}

// signal sends sig to the process.
func (p *proxyProcess) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits, within mustNotHang, for the process to exit.
func (p *proxyProcess) wait() *os.ProcessState {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.state
	case <-time.After(mustNotHang):
		p.t.Fatalf("avatarproxy still running %v after it was told to stop", mustNotHang)
		return nil
	}
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

// repoRoot is where `make run` starts the proxy.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
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
	needBinary(t)
	root := t.TempDir()
	for _, name := range []string{"alice.jpg", "bob.png"} {
		copyFile(t, filepath.Join(repoRoot(t), "examples", "avatars", name), filepath.Join(root, name))
	}
	addr := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`
listen: %q
upstreams:
  - {name: pics, kind: file, root: %q}
`, addr, root))
	p := startProxy(t, addr, t.TempDir(), testEnv(), "-config", cfg)
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
	needBinary(t)
	addr := freeAddr(t)
	p := startProxy(t, addr, repoRoot(t), testEnv("AVATARPROXY_LISTEN="+addr))
	client := &http.Client{Timeout: mustNotHang}
	url := p.url + "/avatar/local/alice?size=64"
	resp, body := get(t, client, url)
	checkImage(t, url, resp, body, "image/jpeg", 64)
	if got := resp.Header.Get("Surrogate-Key"); got != "avatar avatar-local-alice" {
		t.Errorf("Surrogate-Key %q, want %q", got, "avatar avatar-local-alice")
	}
}

func TestCheckConfig(t *testing.T) {
	needBinary(t)
	root := t.TempDir()
	valid := writeConfig(t, fmt.Sprintf(`
listen: "127.0.0.1:0"
upstreams:
  - {name: pics, kind: file, root: %q}
`, root))
	out, err := exec.Command(binPath, "-check-config", "-config", valid).CombinedOutput()
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
	cmd := exec.Command(binPath, "-check-config", "-config", invalid)
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

// A key the build cannot honour is refused, not silently ignored.
func TestCheckConfigRefusesRedis(t *testing.T) {
	needBinary(t)
	cfg := writeConfig(t, fmt.Sprintf(`
upstreams:
  - {name: pics, kind: file, root: %q}
cache:
  redis_url: redis://127.0.0.1:6379/0
`, t.TempDir()))
	out, err := exec.Command(binPath, "-check-config", "-config", cfg).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "cache.redis_url") {
		t.Fatalf("redis_url: %v\n%s", err, out)
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

// origin is an http upstream for the shutdown tests. User ids starting
// with "held" get no answer until release is closed (or the proxy hangs
// up); "missing" is 404, "broken" 500, and the rest a PNG.
type origin struct {
	*httptest.Server
	arrived chan string
	release chan struct{}
}

func newOrigin(t *testing.T) *origin {
	o := &origin{arrived: make(chan string, 16), release: make(chan struct{})}
	png := testimages.SeededPNG("origin", 96, 96)
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/a/")
		switch {
		case strings.HasPrefix(id, "held"):
			o.arrived <- id
			select {
			case <-o.release:
			case <-r.Context().Done():
				return
			}
		case id == "missing":
			http.NotFound(w, r)
			return
		case id == "broken":
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	}))
	t.Cleanup(o.Close)
	return o
}

// awaitArrival waits for a held request to reach the origin.
func (o *origin) awaitArrival(t *testing.T) {
	t.Helper()
	select {
	case <-o.arrived:
	case <-time.After(mustNotHang):
		t.Fatal("the held request never reached the origin")
	}
}

// result is the outcome of a request made in the background.
type result struct {
	status int
	body   []byte
	err    error
}

func getAsync(client *http.Client, url string) <-chan result {
	c := make(chan result, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			c <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		c <- result{status: resp.StatusCode, body: body, err: err}
	}()
	return c
}

// metric returns the value of an unlabelled sample in the process's
// /metrics.
func metric(t *testing.T, client *http.Client, base, name string) float64 {
	t.Helper()
	resp, body := get(t, client, base+"/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: status %d", resp.StatusCode)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("/metrics: %q: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// burst sends n avatar requests over a few connections: fresh sizes,
// cache hits, users without an avatar, a failing origin, bad parameters,
// HEAD and conditional requests, so that a goroutine left behind by any of
// these paths adds up.
func burst(t *testing.T, client *http.Client, base string, n int) {
	t.Helper()
	const workers = 4
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				var url string
				method := http.MethodGet
				switch i % 8 {
				case 0, 1:
					url = fmt.Sprintf("%s/avatar/o/user%d?size=%d", base, i%10, 16+i)
				case 2:
					url = base + "/avatar/o/user1?size=48" // a hit once rendered
				case 3:
					url = fmt.Sprintf("%s/avatar/o/missing?size=%d", base, 20+i%7)
				case 4:
					url = fmt.Sprintf("%s/avatar/o/broken?size=%d", base, 20+i%7)
				case 5:
					url = base + "/avatar/o/user2?size=0"
				case 6:
					method = http.MethodHead
					url = fmt.Sprintf("%s/avatar/o/user%d?size=40&format=webp", base, i%10)
				case 7:
					url = base + "/avatar/nosuch/user1"
				}
				req, err := http.NewRequest(method, url, nil)
				if err != nil {
					errc <- err
					return
				}
				if i%5 == 0 {
					req.Header.Set("If-None-Match", `"stale-etag"`)
				}
				resp, err := client.Do(req)
				if err != nil {
					errc <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					errc <- fmt.Errorf("%s %s: status %d", method, url, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// TestGracefulShutdown sends SIGTERM while an avatar request waits on its
// origin: the listener stops taking new work, the request still completes,
// and the process exits 0. Before that, it checks from /metrics that a
// burst of requests leaves no goroutines behind.
func TestGracefulShutdown(t *testing.T) {
	needBinary(t)
	o := newOrigin(t)
	addr := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`
listen: %q
shutdown_timeout: 30s
shutdown_delay: 2s
upstreams:
  - {name: o, kind: http, url_template: "%s/a/{user_id}"}
  - {name: h, kind: http, url_template: "%s/a/{user_id}", timeout: 50s, header_timeout: 50s}
`, addr, o.URL, o.URL))
	p := startProxy(t, addr, t.TempDir(), testEnv(), "-config", cfg)
	transport := &http.Transport{}
	client := &http.Client{Timeout: mustNotHang, Transport: transport}

	// Goroutines at rest, once the lazily started ones are running.
	get(t, client, p.url+"/avatar/o/warmup?size=32")
	transport.CloseIdleConnections()
	idle := metric(t, client, p.url, "go_goroutines")

	burst(t, client, p.url, 200)
	// Connections kept alive hold a goroutine or two each, which is no
	// leak: let the count settle after closing ours.
	const slack = 20
	var after float64
	for deadline := time.Now().Add(mustNotHang); ; {
		transport.CloseIdleConnections()
		after = metric(t, client, p.url, "go_goroutines")
		if after <= idle+slack || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	transport.CloseIdleConnections()

	// The burst's failures may have opened the circuit of upstream o, so
	// the held request goes through h, over the same origin.
	held := getAsync(client, p.url+"/avatar/h/held?size=32")
	o.awaitArrival(t)
	p.signal(syscall.SIGTERM)

	// During shutdown_delay the listener stays open and /readyz fails, so
	// load balancers learn to stop sending before connections are refused.
	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for deadline := time.Now().Add(mustNotHang); ; {
		resp, err := probe.Get(p.url + "/readyz")
		if err != nil {
			t.Fatalf("/readyz refused during shutdown_delay: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after SIGTERM", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-p.exited:
		t.Fatalf("avatarproxy exited (%v) with a request in flight", p.state)
	default:
	}

	close(o.release)
	select {
	case r := <-held:
		if r.err != nil {
			t.Fatalf("in-flight request: %v", r.err)
		}
		if r.status != http.StatusOK {
			t.Errorf("in-flight request: status %d, want 200; body %q", r.status, r.body)
		} else if cfg, _, err := image.DecodeConfig(bytes.NewReader(r.body)); err != nil || cfg.Width != 32 {
			t.Errorf("in-flight request: not a 32px image (%v, %+v)", err, cfg)
		}
	case <-time.After(mustNotHang):
		t.Fatal("the in-flight request never completed")
	}
	if st := p.wait(); st.ExitCode() != 0 {
		t.Errorf("avatarproxy exited with %v after SIGTERM, want status 0", st)
	}

	if after > idle+slack {
		t.Errorf("go_goroutines %v at rest after 200 requests, %v before: goroutines leak per request", after, idle)
	}
	t.Logf("go_goroutines: %v at rest, %v after 200 requests", idle, after)
}

// TestShutdownTimeout sends SIGTERM while a request waits on an origin
// that never answers. The process gives up on it after shutdown_timeout:
// it logs that draining failed and exits with status 1, which closes the
// held connection without a response.
func TestShutdownTimeout(t *testing.T) {
	needBinary(t)
	o := newOrigin(t)
	addr := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`
listen: %q
shutdown_timeout: 1s
upstreams:
  - {name: o, kind: http, url_template: "%s/a/{user_id}", timeout: 50s, header_timeout: 50s}
`, addr, o.URL))
	p := startProxy(t, addr, t.TempDir(), testEnv(), "-config", cfg)
	client := &http.Client{Timeout: mustNotHang}

	held := getAsync(client, p.url+"/avatar/o/held-forever?size=32")
	o.awaitArrival(t)
	p.signal(syscall.SIGTERM)
	st := p.wait()
	if !st.Exited() {
		t.Fatalf("avatarproxy did not exit by itself: %v", st)
	}
	t.Logf("avatarproxy stopped with a request held past shutdown_timeout: %v", st)

	select {
	case r := <-held:
		if r.err == nil && r.status == http.StatusOK {
			t.Errorf("the held request got a 200 though its origin never answered")
		}
	case <-time.After(mustNotHang):
		t.Fatal("the held request still open after the process exited")
	}
}

// The metrics a live process exposes, after traffic of every kind, pass
// Prometheus' own linter.
func TestMetricsPassPromtool(t *testing.T) {
	needBinary(t)
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; make test installs it")
		}
		t.Skip("promtool is not installed (make test installs it)")
	}
	root := t.TempDir()
	copyFile(t, filepath.Join(repoRoot(t), "examples", "avatars", "alice.jpg"), filepath.Join(root, "alice.jpg"))
	o := newOrigin(t)
	addr := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`
listen: %q
security: {purge_token: secret}
upstreams:
  - {name: pics, kind: file, root: %q}
  - {name: o, kind: http, url_template: "%s/a/{user_id}"}
`, addr, root, o.URL))
	p := startProxy(t, addr, t.TempDir(), testEnv(), "-config", cfg)
	client := &http.Client{Timeout: mustNotHang}
	for _, path := range []string{
		"/avatar/pics/alice?size=40", "/avatar/pics/alice?size=40", "/avatar/pics/alice?size=40&format=avif",
		"/avatar/pics/nobody", "/avatar/pics/alice?size=x", "/avatar/o/missing", "/avatar/o/broken", "/avatar/o/fine?size=8",
		"/nowhere", "/healthz", "/readyz",
	} {
		get(t, client, p.url+path)
	}
	req, _ := http.NewRequest("POST", p.url+"/purge/pics/alice", nil)
	req.Header.Set("Authorization", "Bearer secret")
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("purge: %v %v", resp, err)
	}
	_, body := get(t, client, p.url+"/metrics")
	for _, family := range []string{
		"avatarproxy_http_requests_total", "avatarproxy_http_request_duration_seconds", "avatarproxy_cache_hits_total",
		"avatarproxy_cache_misses_total", "avatarproxy_cache_evictions_total", "avatarproxy_cache_size_bytes",
		"avatarproxy_upstream_requests_total", "avatarproxy_upstream_request_duration_seconds",
		"avatarproxy_resize_duration_seconds", "avatarproxy_invalidations_total", "avatarproxy_inflight_requests",
		"avatarproxy_vips_memory_bytes", "go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), "# TYPE "+family+" ") {
			t.Errorf("/metrics lacks %s", family)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
