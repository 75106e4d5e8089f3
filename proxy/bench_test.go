package proxy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// The serving path measured through the handler, without the network.
// BenchmarkHealthz is the reference: the router, instrumentation and a
// trivial handler. Compare the others against it in the same run:
//
//	go test ./proxy -run '^$' -bench 'Healthz|Hit|Conditional|NewSize' -benchmem

func benchHarness(b testing.TB) (*Server, http.Handler) {
	return benchHarnessWith(b, Options{})
}

func benchHarnessWith(b testing.TB, opt Options) (*Server, http.Handler) {
	b.Helper()
	dir := b.TempDir()
	cfg := config.Default()
	cfg.Upstreams = []config.Upstream{{Name: "local", Kind: "file", Root: dir}}
	if err := writeBenchAvatar(b, dir); err != nil {
		b.Fatal(err)
	}
	if err := cfg.Validate(upstream.Kinds()); err != nil {
		b.Fatal(err)
	}
	srv, err := New(cfg, opt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	return srv, srv.Handler(true)
}

func serve(b testing.TB, h http.Handler, path string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func BenchmarkHealthz(b *testing.B) {
	_, h := benchHarness(b)
	for b.Loop() {
		serve(b, h, "/healthz", nil)
	}
}

func BenchmarkHit(b *testing.B) {
	srv, h := benchHarness(b)
	accept := http.Header{"Accept": {"image/avif,image/webp,*/*"}}
	serve(b, h, "/avatar/local/u?size=64", accept)
	srv.avatars.variants.Wait()
	b.ResetTimer()
	for b.Loop() {
		if w := serve(b, h, "/avatar/local/u?size=64", accept); w.Header().Get("X-Cache") != "HIT" {
			b.Fatalf("X-Cache %q", w.Header().Get("X-Cache"))
		}
	}
}

func BenchmarkConditional(b *testing.B) {
	srv, h := benchHarness(b)
	w := serve(b, h, "/avatar/local/u?size=64&format=webp", nil)
	srv.avatars.variants.Wait()
	inm := http.Header{"If-None-Match": {w.Header().Get("ETag")}}
	b.ResetTimer()
	for b.Loop() {
		if w := serve(b, h, "/avatar/local/u?size=64&format=webp", inm); w.Code != 304 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkNewSize renders a size not seen before from the cached original:
// the cost of a variant miss, a resize to WebP.
func BenchmarkNewSize(b *testing.B) {
	srv, h := benchHarness(b)
	serve(b, h, "/avatar/local/u?size=64&format=webp", nil)
	srv.avatars.originals.Wait()
	i := 0
	for b.Loop() {
		i++
		path := fmt.Sprintf("/avatar/local/u?format=webp&size=%d", 16+i%1000)
		if w := serve(b, h, path, nil); w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func writeBenchAvatar(b testing.TB, dir string) error {
	return os.WriteFile(filepath.Join(dir, "u.jpg"), testimages.JPEG(testimages.Gradient(512, 512), 90), 0o644)
}
