package proxy

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image/color"
	"io"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
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
		"png-16bit":     {rgba16PNG(t, 400, 400), "too-large"},
		"gif-truncated": {animation[:len(animation)*3/4], "bad-image"},
	}
	for user, c := range bodies {
		h.origin.set(user, c.body)
	}
	h.origin.set("webp-ok", animatedWebP(t, 8, frames[:resize.MaxFrames]...))
	h.origin.set("png-ok", rgba16PNG(t, 350, 350)) // 980,000 bytes decoded

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
	h.origin.set("bomb", rgba16PNG(t, 6300, 6300))
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
	chunk := func(typ string, payload ...[]byte) []byte {
		body := bytes.Join(payload, nil)
		b := binary.LittleEndian.AppendUint32([]byte(typ), uint32(len(body)))
		if b = append(b, body...); len(body)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	uint24 := func(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16)} }
	frames := map[color.Color][]byte{}
	body := [][]byte{
		[]byte("WEBP"),
		chunk("VP8X", []byte{0x02, 0, 0, 0}, uint24(edge-1), uint24(edge-1)), // animation
		chunk("ANIM", make([]byte, 6)),
	}
	for _, c := range colours {
		if frames[c] == nil {
			frames[c] = lossyFrame(t, c, edge)
		}
		header := bytes.Join([][]byte{uint24(0), uint24(0), uint24(edge - 1), uint24(edge - 1), uint24(100), {0}}, nil)
		body = append(body, chunk("ANMF", header, frames[c]))
	}
	return chunk("RIFF", body...)
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

// rgba16PNG returns a w x h transparent black PNG of 16-bit RGBA samples,
// Adam7-interlaced, so that libvips must decode it whole.
func rgba16PNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var idat bytes.Buffer
	z, err := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	// Each pass's rows: a filter byte and 8 bytes a pixel, all zero.
	passes := [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	var raw int64
	for _, p := range passes {
		cols := (w - p[0] + p[2] - 1) / p[2]
		rows := (h - p[1] + p[3] - 1) / p[3]
		if cols > 0 && rows > 0 {
			raw += int64(rows) * int64(1+8*cols)
		}
	}
	if _, err := io.Copy(z, io.LimitReader(zeroReader{}, raw)); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}

	out := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		start := len(out)
		out = append(append(out, typ...), data...)
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, 16, 6, 0, 0, 1)) // 16-bit RGBA, interlaced
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
