package proxy

import (
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/hostile"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// hostileOrigin serves internal/hostile's misbehaviours at /a/{kind}.
func hostileOrigin(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(hostile.New())
	t.Cleanup(srv.Close)
	return srv
}

// Each hostile answer ends in the default image with a reason,
// and never in a 5xx or a libvips message.
func TestHostileUpstreams(t *testing.T) {
	srv := hostileOrigin(t)
	h := newHarness(t, func(c *config.Config) {
		c.Resize.MaxSourceBytes = 2 << 20
		c.Upstreams = append(c.Upstreams, config.Upstream{
			Name: "evil", Kind: "http", URLTemplate: srv.URL + "/a/{user_id}",
			Timeout: config.Duration(time.Second), HeaderTimeout: config.Duration(time.Second),
		})
	})
	cases := map[string]string{
		hostile.SVG:        "unsupported-image",
		hostile.HTML:       "unsupported-image",
		hostile.Empty:      "unsupported-image",
		hostile.Text:       "unsupported-image",
		hostile.Truncated:  "bad-image",
		hostile.Corrupt:    "bad-image",
		hostile.Bomb:       "too-large",
		hostile.Huge:       "too-large",
		hostile.Reset:      "unreachable",
		hostile.Drip:       "timeout",
		hostile.Liar:       "unreachable",
		hostile.Status500:  "status-500",
		hostile.Frames:     "too-large",
		hostile.AVIFBomb:   "too-large",
		hostile.WebPFrames: "too-large",
		hostile.PNG16:      "too-large",
		hostile.GIFCut:     "bad-image",
		hostile.WebPCut:    "bad-image",
		hostile.AVIFCut:    "unsupported-image", // its boxes do not fit: a malformed header
	}
	for user, reason := range cases {
		r := h.get("/avatar/evil/" + user + "?size=32&format=png")
		if r.StatusCode != 200 {
			t.Errorf("%s: status %d (%q)", user, r.StatusCode, truncate(r.body))
			continue
		}
		got := r.Header.Get("X-Avatar-Fallback")
		// A reset can surface as a truncated body; both say the same.
		if got != reason && !(user == hostile.Liar && got == "bad-image") && !(user == hostile.Reset && got == "status-502") {
			t.Errorf("%s: X-Avatar-Fallback %q, want %q", user, got, reason)
		}
		if info := imageInfo(t, r.body); info.Width != 32 {
			t.Errorf("%s: default is %d wide", user, info.Width)
		}
		if r.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s: the upstream's cookie reached the avatar face", user)
		}
	}
}

// A decompression bomb is refused from its header, before any decode.
func TestPixelBombRefusedFast(t *testing.T) {
	srv := hostileOrigin(t)
	h := harnessWith(t, config.Upstream{Name: "evil", Kind: "http", URLTemplate: srv.URL + "/a/{user_id}"})
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range 20 {
		h.srv.Invalidate(t.Context(), "evil", hostile.Bomb, "purge")
		r := h.get("/avatar/evil/" + hostile.Bomb + "?size=64&format=png&v=" + string(rune('a'+i)))
		if r.Header.Get("X-Avatar-Fallback") != "too-large" {
			t.Fatalf("bomb: fallback %q", r.Header.Get("X-Avatar-Fallback"))
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// 30000 x 30000 x 3 bytes is 2.5 GiB per decode; nothing close happened.
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > 256<<20 {
		t.Fatalf("heap grew by %d MiB serving pixel bombs", grew>>20)
	}
}

// A full resize queue answers 503 with Retry-After rather than queueing
// without bound.
func TestOverloadIs503(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Resize.Workers = 1
		c.Resize.Queue = 1
	})
	h.writeFile("big.jpg", testimages.JPEG(testimages.Solid(2000, 2000, red), 90))
	results := make(chan *response, 12)
	for i := range 12 {
		go func() { results <- h.get("/avatar/local/big?format=avif&size=" + string(rune('0'+i%9+1)) + "00") }()
	}
	busy := 0
	for range 12 {
		r := <-results
		switch r.StatusCode {
		case 200:
		case 503:
			busy++
			if r.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		default:
			t.Errorf("status %d: %q", r.StatusCode, truncate(r.body))
		}
	}
	if busy == 0 {
		t.Fatal("twelve concurrent resizes on one worker and a queue of one were all accepted")
	}
}
