package resize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
	"time"

	"github.com/h2non/bimg"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// Sources whose short side is one pixel are enlarged hugely along the long
// one; only the centre square may be computed, never the whole strip.
func TestResizeOnePixelStrips(t *testing.T) {
	for _, size := range []image.Point{{1, 300}, {300, 1}, {1, 1}} {
		// Red ends and a green middle third.
		m := testimages.Solid(size.X, size.Y, red)
		if size.X > 1 {
			testimages.Fill(m, image.Rect(size.X/3, 0, 2*size.X/3, 1), green)
		} else if size.Y > 1 {
			testimages.Fill(m, image.Rect(0, size.Y/3, 1, 2*size.Y/3), green)
		} else {
			m = testimages.Solid(1, 1, green)
		}
		src := testimages.PNG(m)
		for _, attention := range []bool{false, true} {
			t.Run(fmt.Sprintf("%dx%d/attention=%v", size.X, size.Y, attention), func(t *testing.T) {
				out, format := resize(t, src, Options{Edge: 64, Format: JPEG, Attention: attention})
				assertSquare(t, out, format, 64)
				assertColor(t, decode(t, out), 32, 32, green, 40)
			})
		}
	}
}

func TestResizeEnlargesSmallSources(t *testing.T) {
	src := testimages.PNG(testimages.Quadrants(32, 32))
	for _, format := range []Format{JPEG, PNG, WebP, AVIF} {
		t.Run(string(format), func(t *testing.T) {
			out, got := resize(t, src, Options{Edge: 256, Format: format})
			assertSquare(t, out, got, 256)
			assertCorners(t, decode(t, out), 10, [4]color.NRGBA{red, green, blue, yellow}, 40)
		})
	}
}

// The attention crop runs before the rotation; what it finds must still be
// what is shown.
func TestResizeAttentionCropOfRotatedSource(t *testing.T) {
	// Stored 300x100 with a busy patch at its left end; orientation 6
	// shows it 100x300 with the patch at the top.
	m := busyStrip()
	testimages.Fill(m, image.Rect(0, 0, 100, 4), blue) // marks the stored top edge
	src := testimages.WithOrientation(testimages.JPEG(m, 95), 6)

	out, format := resize(t, src, Options{Edge: 50, Format: PNG, Attention: true})
	assertSquare(t, out, format, 50)
	got := decode(t, out)
	if c := color.NRGBAModel.Convert(got.At(25, 25)).(color.NRGBA); c.R < 200 {
		t.Errorf("attention crop centre is %v, want the red and yellow patch", c)
	}
	// Rotated 90° clockwise, the stored top edge is on the right.
	assertColor(t, got, 49, 25, blue, 60)
	if c := color.NRGBAModel.Convert(got.At(0, 25)).(color.NRGBA); c.B > 150 && c.R < 100 {
		t.Errorf("stored top edge shown on the left: %v", c)
	}
}

func TestResizeGrayAlphaKeepsAlpha(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	testimages.Fill(m, image.Rect(0, 0, 20, 40), color.NRGBA{100, 100, 100, 255})
	src := convert(t, testimages.PNG(m), bimg.Options{Type: bimg.PNG, Interpretation: bimg.InterpretationBW})
	if src[25] != 4 { // IHDR colour type
		t.Fatalf("fixture has PNG colour type %d, want 4 (grey and alpha)", src[25])
	}
	for _, format := range []Format{"", PNG, WebP, AVIF} {
		t.Run(string(format), func(t *testing.T) {
			out, got := resize(t, src, Options{Edge: 40, Format: format})
			if format == "" && got != PNG {
				t.Errorf("source family of grey and alpha is %s, want png", got)
			}
			pixels := decode(t, out)
			assertColor(t, pixels, 5, 20, color.NRGBA{100, 100, 100, 255}, 6)
			assertColor(t, pixels, 35, 20, clear, 4)
		})
	}
}

// A CMYK JPEG with its profile comes out an sRGB JPEG: three channels, no
// profile, the colours right.
func TestResizeCMYKToSRGBJPEG(t *testing.T) {
	orange := color.NRGBA{230, 120, 40, 255}
	cmyk := convert(t, testimages.PNG(testimages.Solid(64, 64, orange)), bimg.Options{Type: bimg.JPEG, Interpretation: bimg.InterpretationCMYK})
	if !bytes.Contains(cmyk, []byte("ICC_PROFILE")) {
		t.Fatal("fixture has no profile")
	}
	out, _ := resize(t, cmyk, Options{Edge: 32, Format: JPEG})
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ColorModel != color.YCbCrModel {
		t.Errorf("output colour model %v, want YCbCr", cfg.ColorModel)
	}
	if bytes.Contains(out, []byte("ICC_PROFILE")) {
		t.Error("output keeps a profile")
	}
	assertColor(t, decode(t, out), 16, 16, orange, 30)
}

func TestVipsMemoryHighwaterCountsTheSquare(t *testing.T) {
	const edge = 1024
	resize(t, testimages.PNG(photo(1100, 1100)), Options{Edge: edge, Format: JPEG})
	// The decoded square, three bytes a pixel, was held in libvips'
	// tracked memory before it was encoded.
	if hw := VipsMemoryHighwater(); hw < edge*edge*3 {
		t.Errorf("VipsMemoryHighwater() = %d after a %d px resize, want at least %d", hw, edge, edge*edge*3)
	}
	if now, hw := VipsMemory(), VipsMemoryHighwater(); now > hw {
		t.Errorf("VipsMemory() = %d above the high-water mark %d", now, hw)
	}
}

// Every image the pipeline makes is released when a resize ends: a leaked
// reference to the decoded square would keep its pixels counted for good.
// libvips' worker threads hand their last buffers back just after the
// resize returns, so the count is polled until it settles.
func TestResizeReleasesLibvipsMemory(t *testing.T) {
	badHuffman := testimages.JPEG(photo(64, 64), 95)
	dht := bytes.Index(badHuffman, []byte{0xFF, 0xC4})
	copy(badHuffman[dht+5:], bytes.Repeat([]byte{0xFF}, 16))
	sources := [][]byte{
		testimages.WithOrientation(testimages.JPEG(photo(300, 200), 95), 6),
		testimages.PNG(testimages.Quadrants(64, 64)),
		twoFrameGIF(),
	}
	r := New(PoolConfig{Workers: 1})
	for _, src := range sources {
		for _, opt := range []Options{{Edge: 96, Format: JPEG}, {Edge: 48, Format: WebP, Attention: true}, {Edge: 200}} {
			resize(t, src, opt)
			assertVipsMemorySettles(t)
		}
	}
	if _, _, err := r.Resize(context.Background(), badHuffman, Options{Edge: 32}); !errors.Is(err, ErrBadImage) {
		t.Fatalf("corrupt JPEG: %v, want ErrBadImage", err)
	}
	assertVipsMemorySettles(t)
}

func assertVipsMemorySettles(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for VipsMemory() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("libvips still holds %d bytes after a resize", VipsMemory())
		}
		time.Sleep(time.Millisecond)
	}
}

// The colour under fully transparent pixels must not bleed into the
// partly transparent edge a downscale makes.
func TestResizeAlphaEdgesKeepTheirColour(t *testing.T) {
	m := testimages.Solid(64, 64, red)
	for y := range 64 {
		for x := 34; x < 64; x++ {
			// Invisible green, set directly: draw would store it as 0s.
			copy(m.Pix[m.PixOffset(x, y):], []uint8{0, 255, 0, 0})
		}
	}
	for _, format := range []Format{PNG, WebP} {
		out, _ := resize(t, testimages.PNG(m), Options{Edge: 16, Format: format})
		pixels := decode(t, out)
		edges := 0
		for x := range 16 {
			c := color.NRGBAModel.Convert(pixels.At(x, 8)).(color.NRGBA)
			if c.A > 20 && c.A < 235 {
				edges++
				if c.G > 40 || c.R < 200 {
					t.Errorf("%s: edge pixel %d is %v, not red: the invisible green bled in", format, x, c)
				}
			}
		}
		if edges == 0 {
			t.Errorf("%s: no partly transparent edge to check", format)
		}
	}
}
