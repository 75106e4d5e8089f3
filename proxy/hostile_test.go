package proxy

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
)

// pngClaiming returns a valid PNG signature and IHDR chunk claiming w x h
// pixels, followed by a token of data: a decompression bomb's header.
func pngClaiming(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte("\x89PNG\r\n\x1a\n"))
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// corruptPNG is a PNG whose header is sound and whose pixel data is not.
func corruptPNG(t *testing.T) []byte {
	b := encodePNG(t, gradient(64, 64))
	idat := bytes.Index(b, []byte("IDAT")) + 4
	for i := idat + 16; i < len(b)-16; i++ {
		b[i] ^= 0x5a
	}
	return b
}

func gradient(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	return img
}

// hostileOrigin answers /a/{kind} with the misbehaviour named by kind.
func hostileOrigin(t *testing.T) *httptest.Server {
	good := encodeJPEG(t, gradient(256, 256))
	header := bytes.Index(good, []byte{0xff, 0xda}) + 64 // into the scan data
	bodies := map[string][]byte{
		"svg":       []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)" width="10" height="10"/>`),
		"html":      []byte("<!DOCTYPE html><html><body>Please sign in</body></html>"),
		"empty":     {},
		"truncated": good[:header],
		"corrupt":   corruptPNG(t),
		"bomb":      pngClaiming(30000, 30000),
		"text":      []byte("hello"),
		"frames":    fakeprovider.GIF(3000),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := strings.TrimPrefix(r.URL.Path, "/a/")
		switch kind {
		case "reset":
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		case "drip":
			w.Header().Set("Content-Type", "image/jpeg")
			for i := 0; i < len(good); i++ {
				if _, err := w.Write(good[i : i+1]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
			return
		case "huge":
			w.Header().Set("Content-Type", "image/jpeg")
			chunk := bytes.Repeat([]byte{0xff}, 64<<10)
			for range 200 { // 12.5 MiB, unannounced
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			return
		case "lying-length":
			w.Header().Set("Content-Length", "100")
			w.Header().Set("Content-Type", "image/png")
			w.Write(good[:50])
			return
		case "error500":
			http.Error(w, "boom", 500)
			return
		}
		body, ok := bodies[kind]
		if !ok {
			http.NotFound(w, r)
			return
		}
		// Every hostile body claims to be an image.
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Set-Cookie", "session=stolen")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Each hostile answer ends in the default image with a reason, quickly,
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
		"svg":          "unsupported-image",
		"html":         "unsupported-image",
		"empty":        "unsupported-image",
		"text":         "unsupported-image",
		"truncated":    "bad-image",
		"corrupt":      "bad-image",
		"bomb":         "too-large",
		"huge":         "too-large",
		"reset":        "unreachable",
		"drip":         "timeout",
		"lying-length": "unreachable",
		"error500":     "status-500",
		"frames":       "too-large",
	}
	for user, reason := range cases {
		start := time.Now()
		r := h.get("/avatar/evil/" + user + "?size=32&format=png")
		took := time.Since(start)
		if r.StatusCode != 200 {
			t.Errorf("%s: status %d (%q)", user, r.StatusCode, truncate(r.body))
			continue
		}
		got := r.Header.Get("X-Avatar-Fallback")
		// A reset can surface as a truncated body; both say the same.
		if got != reason && !(user == "lying-length" && got == "bad-image") && !(user == "reset" && got == "status-502") {
			t.Errorf("%s: X-Avatar-Fallback %q, want %q", user, got, reason)
		}
		if info := imageInfo(t, r.body); info.Width != 32 {
			t.Errorf("%s: default is %d wide", user, info.Width)
		}
		if r.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s: the upstream's cookie reached the avatar face", user)
		}
		if took > 10*time.Second {
			t.Errorf("%s: took %v", user, took)
		}
	}
}

// A decompression bomb is refused from its header, before any decode.
func TestPixelBombRefusedFast(t *testing.T) {
	srv := hostileOrigin(t)
	h := newHarness(t, func(c *config.Config) {
		c.Upstreams = append(c.Upstreams, config.Upstream{Name: "evil", Kind: "http", URLTemplate: srv.URL + "/a/{user_id}"})
	})
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range 20 {
		h.srv.Invalidate(t.Context(), "evil", "bomb", "purge")
		r := h.get("/avatar/evil/bomb?size=64&format=png&v=" + string(rune('a'+i)))
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
	h.writeFile("big.jpg", encodeJPEG(t, solid(2000, 2000, red)))
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
