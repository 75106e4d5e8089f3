package main

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

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
	o := newOrigin(t)
	p := startWithConfig(t, nil, fmt.Sprintf(`
shutdown_timeout: 30s
shutdown_delay: 2s
upstreams:
  - {name: o, kind: http, url_template: "%s/a/{user_id}"}
  - {name: h, kind: http, url_template: "%s/a/{user_id}", timeout: 50s, header_timeout: 50s}
`, o.URL, o.URL))
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
	p.Signal(syscall.SIGTERM)

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
	case <-p.Done():
		t.Fatalf("avatarproxy exited (%v) with a request in flight", p.State())
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
	if st := p.Wait(); st.ExitCode() != 0 {
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
	o := newOrigin(t)
	p := startWithConfig(t, nil, fmt.Sprintf(`
shutdown_timeout: 1s
upstreams:
  - {name: o, kind: http, url_template: "%s/a/{user_id}", timeout: 50s, header_timeout: 50s}
`, o.URL))
	client := &http.Client{Timeout: mustNotHang}

	held := getAsync(client, p.url+"/avatar/o/held-forever?size=32")
	o.awaitArrival(t)
	p.Signal(syscall.SIGTERM)
	st := p.Wait()
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
