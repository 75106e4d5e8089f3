package proxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"image/color"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/bombs"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/resize"
)

// Sources whose header understates what decoding them costs, or that are
// cut short, end in the default image with a reason, never in a cached
// rendering of them.
func TestImageBombsAndTruncationsAreRefused(t *testing.T) {
	// Limits that the default images, 512x512 RGBA, stay within.
	h := newHarness(t, func(c *config.Config) {
		c.Resize.MaxSourcePixels = 300_000
		c.Resize.MaxSourceDecodedBytes = 1_200_000
	})
	avif := encodeWith(t, resize.AVIF, 600)
	frames := make([]color.Color, resize.MaxFrames+1)
	for i := range frames {
		frames[i] = color.NRGBA{255, 0, 0, 255}
	}
	animation := testimages.ManyFrames(3, 32)
	bodies := map[string]struct {
		body   []byte
		reason string
	}{
		// 64x64 claimed in 'ispe', 600x600 coded.
		"avif-bomb": {claimIspe(avif, 600, 64), "too-large"},
		// 250x250 claimed and coded, but under a different 'ispe'.
		"avif-lying":  {claimIspe(encodeWith(t, resize.AVIF, 250), 250, 240), "unsupported-image"},
		"webp-frames": {animatedWebP(t, 8, frames...), "too-large"},
		// 160,000 pixels, within the pixel limit; 1,280,000 bytes decoded.
		"png-16bit":     {bombs.RGBA16PNG(400, 400), "too-large"},
		"gif-truncated": {animation[:len(animation)*3/4], "bad-image"},
	}
	for user, c := range bodies {
		h.origin.set(user, c.body)
	}
	h.origin.set("webp-ok", animatedWebP(t, 8, frames[:resize.MaxFrames]...))
	h.origin.set("png-ok", bombs.RGBA16PNG(350, 350)) // 980,000 bytes decoded

	for user, c := range bodies {
		for range 2 { // and again, from whatever was cached
			r := h.get("/avatar/web/" + user + "?size=32&format=png")
			h.mustStatus(r, 200)
			if got := r.Header.Get("X-Avatar-Fallback"); got != c.reason {
				t.Errorf("%s: X-Avatar-Fallback %q, want %q", user, got, c.reason)
			}
			if info := imageInfo(t, r.body); info.Width != 32 {
				t.Errorf("%s: default is %d wide", user, info.Width)
			}
		}
	}
	for _, user := range []string{"webp-ok", "png-ok"} {
		r := h.get("/avatar/web/" + user + "?size=32&format=png")
		h.mustStatus(r, 200)
		if got := r.Header.Get("X-Avatar-Fallback"); got != "" {
			t.Errorf("%s: fallback %q", user, got)
		}
	}
}

// The 16-bit interlaced PNG of 39.7 MP that took 300 MB a resize is refused
// by the default limits; it is a real, decodable file.
func TestDefaultLimitsRefuseSixteenBitPNGBomb(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.set("bomb", bombs.RGBA16PNG(6300, 6300))
	r := h.get("/avatar/web/bomb?size=64&format=png")
	h.mustStatus(r, 200)
	if got := r.Header.Get("X-Avatar-Fallback"); got != "too-large" {
		t.Errorf("X-Avatar-Fallback %q, want too-large", got)
	}
}

// encodeWith returns an edge x edge source in format f, encoded by the
// proxy's own resizer.
func encodeWith(t *testing.T, f resize.Format, edge int) []byte {
	t.Helper()
	r := resize.New(resize.PoolConfig{Workers: 1})
	out, _, err := r.Resize(context.Background(), testimages.PNG(testimages.Gradient(edge, edge)), resize.Options{Edge: edge, Format: f})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// claimIspe returns a copy of an AVIF whose 'ispe' property of from x from
// pixels claims to x to.
func claimIspe(src []byte, from, to uint32) []byte {
	out := append([]byte{}, src...)
	at := bytes.Index(out, []byte("ispe")) + 8 // past the version and flags
	if binary.BigEndian.Uint32(out[at:]) == from && binary.BigEndian.Uint32(out[at+4:]) == from {
		binary.BigEndian.PutUint32(out[at:], to)
		binary.BigEndian.PutUint32(out[at+4:], to)
	}
	return out
}

// animatedWebP returns an edge x edge animated WebP whose frames are the
// given colours, each a lossy frame made by the proxy's resizer.
func animatedWebP(t *testing.T, edge int, colours ...color.Color) []byte {
	t.Helper()
	made := map[color.Color][]byte{}
	frames := make([][]byte, len(colours))
	for i, c := range colours {
		if made[c] == nil {
			made[c] = lossyFrame(t, c, edge)
		}
		frames[i] = made[c]
	}
	return bombs.AnimatedWebP(edge, edge, frames...)
}

// lossyFrame returns the VP8 chunk of an opaque WebP of colour c made by
// the proxy's resizer.
func lossyFrame(t *testing.T, c color.Color, edge int) []byte {
	t.Helper()
	r := resize.New(resize.PoolConfig{Workers: 1})
	opaque := testimages.JPEG(testimages.Solid(edge, edge, c), 90)
	webp, _, err := r.Resize(context.Background(), opaque, resize.Options{Edge: edge, Format: resize.WebP})
	if err != nil {
		t.Fatal(err)
	}
	for rest := webp[12:]; len(rest) >= 8; {
		size := int(binary.LittleEndian.Uint32(rest[4:]))
		if string(rest[:4]) == "VP8 " {
			return rest[:8+size+size&1]
		}
		rest = rest[min(8+size+size&1, len(rest)):]
	}
	t.Fatal("the resizer wrote no VP8 chunk")
	return nil
}
