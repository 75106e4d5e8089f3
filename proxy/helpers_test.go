package proxy

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/metrics"
	"github.com/avatarproxy/avatarproxy/resize"
	"github.com/avatarproxy/avatarproxy/upstream"
)

func TestMain(m *testing.M) {
	resize.Startup()
	before := goleak.IgnoreCurrent()
	code := m.Run()
	if code == 0 {
		// Every test closes its servers and caches; whatever still runs
		// now was leaked by a request. Background revalidations and
		// collapsed work finish on their own within their deadlines, later
		// on a loaded machine: wait up to about ten seconds for them.
		if err := findLeaks(before, 10*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	resize.Shutdown()
	os.Exit(code)
}

// findLeaks asks goleak, again and again until patience runs out, for
// goroutines that were not running before the tests.
func findLeaks(before goleak.Option, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		err := goleak.Find(before)
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// origin is a plain HTTP avatar origin for the http upstream kind: it serves
// /a/{id} from a map, with ETags and 304s, and counts what it is asked.
type origin struct {
	*httptest.Server
	mu          sync.Mutex
	avatars     map[string][]byte
	status      map[string]int // forced status per id
	gets        atomic.Int64
	conditional atomic.Int64
	hold        chan struct{} // when set, avatar GETs wait for it
	arrived     chan struct{} // receives once per held GET
}

func newOrigin(t *testing.T) *origin {
	o := &origin{avatars: map[string][]byte{}, status: map[string]int{}, arrived: make(chan struct{}, 16)}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.Close)
	return o
}

func (o *origin) set(id string, body []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.avatars[id] = body
	delete(o.status, id)
}

func (o *origin) fail(id string, status int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.status[id] = status
}

func (o *origin) holdNext() chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.hold = make(chan struct{})
	return o.hold
}

func (o *origin) serve(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Path[len("/a/"):]
	o.gets.Add(1)
	o.mu.Lock()
	hold := o.hold
	o.hold = nil
	body, ok := o.avatars[id]
	status := o.status[id]
	o.mu.Unlock()
	if hold != nil {
		o.arrived <- struct{}{}
		<-hold
	}
	if status != 0 {
		http.Error(w, "<html>upstream trouble</html>", status)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	sum := md5.Sum(body)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	w.Header().Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		o.conditional.Add(1)
		if inm == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(body)
}

// harness is a proxy under test with a file upstream "local" over dir and an
// http upstream "web" over origin.
type harness struct {
	t      *testing.T
	srv    *Server
	http   *httptest.Server
	origin *origin
	dir    string
	clock  *fakeClock
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harnessWith is newHarness with u added to the upstreams.
func harnessWith(t *testing.T, u config.Upstream) *harness {
	t.Helper()
	return newHarness(t, func(c *config.Config) { c.Upstreams = append(c.Upstreams, u) })
}

func newHarness(t *testing.T, tweak func(*config.Config)) *harness {
	t.Helper()
	h := &harness{t: t, origin: newOrigin(t), dir: t.TempDir(), clock: &fakeClock{now: time.Now()}}
	cfg := config.Default()
	cfg.Upstreams = []config.Upstream{
		{Name: "local", Kind: "file", Root: h.dir},
		{Name: "web", Kind: "http", URLTemplate: h.origin.URL + "/a/{user_id}"},
	}
	cfg.Security.PurgeToken = "purge-secret"
	if tweak != nil {
		tweak(cfg)
	}
	if err := cfg.Validate(upstream.Kinds()); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	srv, err := New(cfg, Options{Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	srv.avatars.now = h.clock.Now
	t.Cleanup(srv.Close)
	h.srv = srv
	h.http = httptest.NewServer(srv.Handler(true))
	t.Cleanup(h.http.Close)
	return h
}

func (h *harness) writeFile(name string, body []byte) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, name), body, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// settle waits until the caches have applied every write so far.
func (h *harness) settle() {
	h.srv.avatars.variants.Wait()
	h.srv.avatars.originals.Wait()
	h.srv.avatars.names.tier.Wait()
}

type response struct {
	*http.Response
	body []byte
}

func (h *harness) do(method, path string, header http.Header) *response {
	h.t.Helper()
	return h.send(method, path, header, nil)
}

// send makes a request to the proxy and reads the whole answer.
func (h *harness) send(method, path string, header http.Header, body io.Reader) *response {
	h.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, h.http.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	h.settle()
	return &response{Response: res, body: got}
}

func (h *harness) get(path string) *response { return h.do(http.MethodGet, path, nil) }

func (h *harness) mustStatus(r *response, want int) {
	h.t.Helper()
	if r.StatusCode != want {
		h.t.Fatalf("%s %s: status %d, want %d; body %q", r.Request.Method, r.Request.URL.RequestURI(), r.StatusCode, want, truncate(r.body))
	}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// mustImage checks r is a 200 with cacheControl, of an image width pixels wide.
func mustImage(h *harness, r *response, cacheControl string, width int) {
	h.t.Helper()
	h.mustStatus(r, 200)
	if got := r.Header.Get("Cache-Control"); got != cacheControl {
		h.t.Errorf("Cache-Control %q, want %q", got, cacheControl)
	}
	if info := imageInfo(h.t, r.body); info.Width != width {
		h.t.Errorf("image is %d wide, want %d", info.Width, width)
	}
}

// mustShow checks r is a 200 whose image has want at (x, y).
func mustShow(h *harness, r *response, x, y int, want color.NRGBA) {
	h.t.Helper()
	h.mustStatus(r, 200)
	if px := pixelAt(h.t, r.body, x, y); !sameColour(px, want) {
		h.t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, px, want)
	}
}

// imageInfo decodes a response body's format and dimensions from its header.
func imageInfo(t *testing.T, body []byte) resize.Info {
	t.Helper()
	info, err := resize.Inspect(body)
	if err != nil {
		t.Fatalf("response is not an image: %v (%q)", err, truncate(body))
	}
	return info
}

func pixelAt(t *testing.T, body []byte, x, y int) color.NRGBA {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("decoding response: %v", err)
	}
	return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
}

func metricsText(h *harness) string {
	r := h.get("/metrics")
	h.mustStatus(r, 200)
	return string(r.body)
}

// near reports whether two channel values are within 24 of each other.
func near(a, b uint8) bool { return max(a, b)-min(a, b) < 24 }

// sameColour reports whether every channel, alpha included, is near.
func sameColour(got, want color.NRGBA) bool {
	return near(got.R, want.R) && near(got.G, want.G) && near(got.B, want.B) && near(got.A, want.A)
}

// The colour checks must tell far channels apart in both directions, and
// transparent from opaque.
func TestNear(t *testing.T) {
	for _, c := range []struct {
		a, b uint8
		want bool
	}{{0, 0, true}, {10, 33, true}, {33, 10, true}, {0, 24, false}, {24, 0, false}, {0, 255, false}, {255, 0, false}} {
		if got := near(c.a, c.b); got != c.want {
			t.Errorf("near(%d, %d) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	if sameColour(color.NRGBA{220, 30, 30, 0}, color.NRGBA{220, 30, 30, 255}) {
		t.Error("a transparent pixel is the same colour as an opaque one")
	}
}
