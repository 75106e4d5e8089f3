package resize

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/h2non/bimg"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

func TestResizeRefusesBeforeLibvips(t *testing.T) {
	r := New(PoolConfig{Workers: 1, Limits: Limits{MaxSourceBytes: 1 << 20, MaxSourcePixels: 40_000_000}})
	r.hooks.queued = func() { t.Error("refused source reached the queue") }

	huge := testimages.PNGClaiming(30000, 30000, bytes.Repeat([]byte{0}, 64))
	start := time.Now()
	for range 1000 {
		if _, _, err := r.Resize(context.Background(), huge, Options{Edge: 80}); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("30000x30000 PNG: %v, want ErrTooLarge", err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("1000 refusals took %v", d)
	}

	small := New(PoolConfig{Workers: 1, Limits: Limits{MaxSourcePixels: 1_000_000}})
	small.hooks.queued = r.hooks.queued
	if _, _, err := small.Resize(context.Background(), overflowingGIF(t, 1500, 1000), Options{Edge: 80}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("1x1 GIF with a 1500x1000 frame: %v, want ErrTooLarge", err)
	}

	big := make([]byte, 1<<20+1)
	copy(big, testimages.PNG(testimages.Solid(8, 8, red)))
	if _, _, err := r.Resize(context.Background(), big, Options{Edge: 80}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("source over max bytes: %v, want ErrTooLarge", err)
	}

	unsupported := map[string][]byte{
		"svg":       []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>`),
		"html":      []byte("<!DOCTYPE html><html><body>not found</body></html>"),
		"empty":     nil,
		"truncated": testimages.PNG(testimages.Solid(8, 8, red))[:20],
	}
	for name, src := range unsupported {
		if _, _, err := r.Resize(context.Background(), src, Options{Edge: 80}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
}

// libvips would decode these leniently, and cache filler as the avatar.
func TestResizeDamagedBodyIsBadImage(t *testing.T) {
	jpegSource := testimages.JPEG(photo(64, 64), 95)
	pngSource := testimages.PNG(photo(64, 64))
	idat := bytes.Index(pngSource, []byte("IDAT"))
	flipped := append([]byte{}, pngSource...)
	flipped[idat+20] ^= 0x5a

	webpSource := convert(t, pngSource, bimg.Options{Type: bimg.WEBP})
	avifSource := convert(t, pngSource, bimg.Options{Type: bimg.AVIF, Speed: 8})
	damaged := map[string][]byte{
		"truncated webp":       webpSource[:len(webpSource)*6/10],
		"truncated avif":       avifSource[:len(avifSource)*6/10],
		"jpeg cut in its scan": jpegSource[:bytes.Index(jpegSource, []byte{0xFF, 0xDA})+64],
		"jpeg without its end": jpegSource[:len(jpegSource)-2],
		"png cut in its data":  pngSource[:idat+40],
		"png with a bad byte":  flipped,
		"png without its IEND": pngSource[:len(pngSource)-12],
	}
	r := New(PoolConfig{Workers: 1})
	r.hooks.queued = func() { t.Error("damaged source reached the queue") }
	for name, src := range damaged {
		if _, _, err := r.Resize(context.Background(), src, Options{Edge: 32}); !errors.Is(err, ErrBadImage) {
			t.Errorf("%s: %v, want ErrBadImage", name, err)
		}
	}

	// What decoders accept: bytes after the end, progressive scans.
	r.hooks.queued = nil
	sound := map[string][]byte{
		"jpeg with a trailer": append(jpegSource[:len(jpegSource):len(jpegSource)], "trailer"...),
		"progressive jpeg":    convert(t, pngSource, bimg.Options{Type: bimg.JPEG, Interlace: true}),
		"png with a trailer":  append(pngSource[:len(pngSource):len(pngSource)], "trailer"...),
		"jpeg with exif":      testimages.WithOrientation(jpegSource, 1),
	}
	for name, src := range sound {
		if _, _, err := r.Resize(context.Background(), src, Options{Edge: 32}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// These damaged bodies pass the structural checks; libvips refuses them.
func TestResizeCorruptBodyIsBadImage(t *testing.T) {
	// A JPEG whose Huffman table claims more codes than exist: the sizes
	// and the frame header are intact, the entropy-coded body unreadable.
	badHuffman := testimages.JPEG(photo(64, 64), 95)
	dht := bytes.Index(badHuffman, []byte{0xFF, 0xC4})
	copy(badHuffman[dht+5:], bytes.Repeat([]byte{0xFF}, 16)) // code counts
	corrupt := map[string][]byte{
		"png without image data":  testimages.PNGClaiming(64, 64, nil),
		"jpeg with bogus huffman": badHuffman,
	}
	r := New(PoolConfig{Workers: 1})
	for name, src := range corrupt {
		t.Run(name, func(t *testing.T) {
			if _, err := Inspect(src); err != nil {
				t.Fatalf("header should pass: %v", err)
			}
			_, _, err := r.Resize(context.Background(), src, Options{Edge: 32, Format: JPEG})
			if !errors.Is(err, ErrBadImage) {
				t.Fatalf("got %v, want ErrBadImage", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || len(msg) > 200 {
				t.Errorf("error is not one short line: %q", msg)
			}
		})
	}
}

func TestResizeRejectsBadOptions(t *testing.T) {
	r := New(PoolConfig{Workers: 1})
	src := testimages.PNG(testimages.Solid(8, 8, red))
	for _, opt := range []Options{{Edge: 0}, {Edge: -1}, {Edge: MaxEdge + 1}, {Edge: 8, Format: GIF}, {Edge: 8, Format: "bmp"}, {Edge: 8, Quality: 101}} {
		if _, _, err := r.Resize(context.Background(), src, opt); err == nil {
			t.Errorf("%+v accepted", opt)
		}
	}
}

func TestBlockedLoaders(t *testing.T) {
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>`)
	if _, err := bimg.Resize(svg, bimg.Options{Type: bimg.PNG}); err == nil {
		t.Error("libvips loaded an SVG after Startup")
	}
}
