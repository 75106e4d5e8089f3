package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/cache"
	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/failure"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/resize"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// Every error the pipeline produces has a class, and the status, fallback
// and message the proxy gives it are read from that class.
func TestPipelineErrorsAreClassified(t *testing.T) {
	rz := resize.New(resize.PoolConfig{Workers: 1, Limits: resize.Limits{MaxSourcePixels: 100}})
	jpg := testimages.JPEG(testimages.Solid(32, 32, red), 90)
	unlimited := resize.New(resize.PoolConfig{Workers: 1})
	resizeErr := func(rz *resize.Resizer, src []byte, opt resize.Options) error {
		_, _, err := rz.Resize(context.Background(), src, opt)
		if err == nil {
			t.Fatal("resize succeeded")
		}
		return err
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now())
	defer cancel()
	cases := []struct {
		name  string
		err   error
		class *failure.Class
	}{
		{"not found", upstream.ErrNotFound, failure.NotFound},
		{"upstream status", &upstream.Error{Upstream: "web", Class: failure.UpstreamServerFail, Reason: "status-502"}, failure.UpstreamServerFail},
		{"too many pixels", resizeErr(rz, jpg, resize.Options{Edge: 8}), failure.TooLarge},
		{"unsupported", resizeErr(rz, []byte("<svg/>"), resize.Options{Edge: 8}), failure.Unsupported},
		{"damaged", resizeErr(unlimited, jpg[:len(jpg)-16], resize.Options{Edge: 8}), failure.BadImage},
		{"edge beyond the limit", resizeErr(rz, jpg, resize.Options{Edge: resize.MaxEdge + 1}), failure.Internal},
		{"no worker before the deadline", func() error {
			_, _, err := unlimited.Resize(expired, jpg, resize.Options{Edge: 8})
			return err
		}(), failure.Busy},
		{"client", badRequest("size: no"), failure.BadRequest},
		{"signature", errBadSignature, failure.Forbidden},
		{"deadline", fmt.Errorf("waiting: %w", context.DeadlineExceeded), failure.TimedOut},
	}
	for _, c := range cases {
		class, known := failure.Of(c.err)
		if !known || class != c.class {
			t.Errorf("%s: %v is of class %s (known %v), want %s", c.name, c.err, class.Name, known, c.class.Name)
			continue
		}
		status, msg := errorStatus(c.err)
		if status != class.Status || msg == "" {
			t.Errorf("%s: answers %d %q, class says %d", c.name, status, msg, class.Status)
		}
		if reason := fallbackReason(c.err); (reason != "") != class.Fallback {
			t.Errorf("%s: fallback reason %q, class falls back: %v", c.name, reason, class.Fallback)
		}
	}
}

// failingSource is an upstream whose errors carry no class, as a new
// provider's code might return by mistake.
type failingSource struct{}

func (failingSource) Fetch(context.Context, string, upstream.Validators) (*upstream.Original, error) {
	return nil, errors.New("disk on fire")
}

// An error without a class is logged as a bug and still gets a defined
// answer: 500 with a fixed message, never cached.
func TestUnclassifiedErrorIsLoggedAndAnswered(t *testing.T) {
	h := newHarness(t, nil)
	var logged bytes.Buffer
	var mu sync.Mutex
	h.srv.log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))
	h.srv.providers["web"].Source = failingSource{}

	r := h.get("/avatar/web/u")
	h.mustStatus(r, http.StatusInternalServerError)
	if got := strings.TrimSpace(string(r.body)); got != failure.Internal.Message {
		t.Errorf("body %q, want %q", got, failure.Internal.Message)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	mu.Lock()
	text := logged.String()
	mu.Unlock()
	if !strings.Contains(text, "avatar request failed") || !strings.Contains(text, "class=internal") || !strings.Contains(text, "disk on fire") {
		t.Errorf("not logged as a bug: %s", text)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Collapsed work that runs out of time before a resize worker is free is
// overload: 503 with Retry-After, as under a full queue, not 504.
func TestWorkerWaitPastDeadlineIs503(t *testing.T) {
	h := newHarness(t, nil)
	h.writeFile("u.jpg", testimages.JPEG(testimages.Solid(64, 64, red), 90))
	// The first size brings the original into the cache, so the next one
	// goes straight to the resize pool.
	h.mustStatus(h.get("/avatar/local/u?size=32&format=jpeg"), 200)
	h.srv.avatars.renders = cache.NewGroup[*variant](time.Nanosecond)

	r := h.get("/avatar/local/u?size=48&format=jpeg")
	h.mustStatus(r, http.StatusServiceUnavailable)
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

// One edge limit: the configuration refuses a max_size the renderer cannot
// make, and at the limit every size and dpr within it renders.
func TestEdgeLimitIsOne(t *testing.T) {
	cfg := config.Default()
	cfg.Upstreams = []config.Upstream{{Name: "local", Kind: "file", Root: t.TempDir()}}
	cfg.Resize.MaxSize = 8192
	if err := cfg.Validate(upstream.Kinds()); err == nil || !strings.Contains(err.Error(), "resize.max_size") {
		t.Fatalf("max_size 8192 accepted: %v", err)
	}

	h := newHarness(t, func(c *config.Config) { c.Resize.MaxSize = resize.MaxEdge })
	h.writeFile("u.jpg", testimages.JPEG(testimages.Solid(64, 64, red), 90))
	h.mustStatus(h.get("/avatar/local/u?size=4097&format=jpeg"), http.StatusBadRequest)
	r := h.get("/avatar/local/u?size=2000&dpr=3&format=jpeg")
	h.mustStatus(r, 200)
	if info := imageInfo(t, r.body); info.Width != resize.MaxEdge || info.Height != resize.MaxEdge {
		t.Errorf("got %dx%d, want the %d limit", info.Width, info.Height, resize.MaxEdge)
	}
}

// An upstream whose failures count it unwell opens its circuit, and the
// proxy says so in its log.
func TestCircuitOpeningIsLogged(t *testing.T) {
	h := newHarness(t, nil)
	var logged bytes.Buffer
	var mu sync.Mutex
	h.srv.log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))
	for i := range 5 {
		user := fmt.Sprintf("u%d", i)
		h.origin.fail(user, http.StatusBadGateway)
		r := h.get("/avatar/web/" + user + "?format=png&size=8")
		h.mustStatus(r, 200)
		if got := r.Header.Get("X-Avatar-Fallback"); got != "status-502" {
			t.Fatalf("X-Avatar-Fallback %q", got)
		}
	}
	r := h.get("/avatar/web/u9?format=png&size=8")
	if got := r.Header.Get("X-Avatar-Fallback"); got != failure.CircuitOpen.Name {
		t.Fatalf("after five 502s: X-Avatar-Fallback %q, want %s", got, failure.CircuitOpen.Name)
	}
	mu.Lock()
	text := logged.String()
	mu.Unlock()
	if !strings.Contains(text, "circuit open") || !strings.Contains(text, "upstream=web") {
		t.Errorf("the open circuit was not logged: %s", text)
	}
}
