package proxy

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The hit path measured as net/http drives it: one request and one
// ResponseWriter reused, so that what is counted is the router's and the
// proxy's own work. Run with -benchmem:
//
//	go test ./proxy -run '^$' -bench 'HitPath' -benchmem

// reusedWriter is a ResponseWriter that allocates nothing once warm: its
// header map is cleared, keeping its room, and bodies are counted, not kept.
type reusedWriter struct {
	header  http.Header
	status  int
	written int
}

func newReusedWriter() *reusedWriter { return &reusedWriter{header: make(http.Header, 16)} }

func (w *reusedWriter) Header() http.Header { return w.header }
func (w *reusedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *reusedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.written += len(b)
	return len(b), nil
}

func (w *reusedWriter) reset() {
	clear(w.header)
	w.status, w.written = 0, 0
}

// hitCase is a request that a warmed cache answers without rendering.
type hitCase struct {
	name   string
	method string
	path   string
	header http.Header
	status int
	// allocs is what one request allocates through the whole handler,
	// the router's own included.
	allocs float64
}

// hitCases are the hits held to their allocation counts. net/http's
// router allocates two, growing the slice of the path's wildcards; the
// proxy none, but for the id it makes up for a request that brings no
// X-Request-Id.
func hitCases(etag string) []hitCase {
	return []hitCase{
		{"JPEG", "GET", "/avatar/local/u?size=64&format=jpeg", http.Header{"X-Request-Id": {"r-1"}}, 200, 2},
		{"JPEG/MadeID", "GET", "/avatar/local/u?size=64&format=jpeg", nil, 200, 3},
		{"AVIFByAccept", "GET", "/avatar/local/u?size=64", http.Header{
			"Accept": {"image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"}, "X-Request-Id": {"r-1"}}, 200, 2},
		{"NotModified", "GET", "/avatar/local/u?size=64&format=jpeg", http.Header{
			"If-None-Match": {`"other", ` + etag}, "X-Request-Id": {"r-1"}}, 304, 2},
		{"HEAD", "HEAD", "/avatar/local/u?size=64&format=jpeg", http.Header{"X-Request-Id": {"r-1"}}, 200, 2},
		{"Versioned", "GET", "/avatar/local/u?size=64&format=jpeg&v=7", http.Header{"X-Request-Id": {"r-1"}}, 200, 2},
	}
}

// warmHits serves each case once, so that the next ones are hits, and
// returns the cases with the JPEG's ETag.
func warmHits(t testing.TB, srv *Server, h http.Handler) []hitCase {
	t.Helper()
	serve(t, h, "/avatar/local/u?size=64", http.Header{"Accept": {"image/avif"}})
	w := serve(t, h, "/avatar/local/u?size=64&format=jpeg", nil)
	serve(t, h, "/avatar/local/u?size=64&format=jpeg&v=7", nil) // confirms the token
	srv.avatars.originals.Wait()
	srv.avatars.variants.Wait()
	return hitCases(w.Header().Get("ETag"))
}

func (c hitCase) request() *http.Request {
	r := httptest.NewRequest(c.method, c.path, nil)
	for k, v := range c.header {
		r.Header[k] = v
	}
	return r
}

// serveHit serves r into w and checks that it was the expected hit.
func serveHit(t testing.TB, h http.Handler, w *reusedWriter, r *http.Request, c hitCase) {
	w.reset()
	h.ServeHTTP(w, r)
	if w.status != c.status || w.header.Get("X-Cache") != "HIT" {
		t.Fatalf("%s: status %d, X-Cache %q; want %d, HIT", c.name, w.status, w.header.Get("X-Cache"), c.status)
	}
}

// A hit allocates nothing of its own: what the router does and a made-up
// request id are all. A regression in any header, key, metric or query
// step shows here as a higher count.
func TestHitAllocations(t *testing.T) {
	skipUnderRace(t)
	srv, h := benchHarness(t)
	for _, c := range warmHits(t, srv, h) {
		w, r := newReusedWriter(), c.request()
		serveHit(t, h, w, r, c)
		got := testing.AllocsPerRun(200, func() { serveHit(t, h, w, r, c) })
		if got != c.allocs {
			t.Errorf("%s: %v allocations per hit, want %v", c.name, got, c.allocs)
		}
	}
}

// With access lines turned off by the level, logging costs a hit nothing.
func TestHitAllocationsLoggingOff(t *testing.T) {
	skipUnderRace(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, h := benchHarnessWith(t, Options{Logger: log})
	c := warmHits(t, srv, h)[0]
	w, r := newReusedWriter(), c.request()
	if got := testing.AllocsPerRun(200, func() { serveHit(t, h, w, r, c) }); got != c.allocs {
		t.Errorf("%v allocations per hit with logging at warn, want %v", got, c.allocs)
	}
}

func BenchmarkHitPath(b *testing.B) {
	srv, h := benchHarness(b)
	benchmarkHits(b, srv, h)
}

// BenchmarkHitPathLogged is the hit path with an access line per request,
// in JSON to a discarding writer.
func BenchmarkHitPathLogged(b *testing.B) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv, h := benchHarnessWith(b, Options{Logger: log})
	benchmarkHits(b, srv, h)
}

func benchmarkHits(b *testing.B, srv *Server, h http.Handler) {
	for _, c := range warmHits(b, srv, h) {
		b.Run(c.name, func(b *testing.B) {
			w, r := newReusedWriter(), c.request()
			b.ReportAllocs()
			for b.Loop() {
				serveHit(b, h, w, r, c)
			}
		})
	}
}

func skipUnderRace(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts mean nothing")
	}
}
