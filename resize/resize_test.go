package resize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2non/bimg"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

func TestMain(m *testing.M) {
	Startup()
	m.Run()
}

func resize(t testing.TB, src []byte, opt Options) ([]byte, Format) {
	t.Helper()
	out, format, err := New(PoolConfig{Workers: 1}).Resize(context.Background(), src, opt)
	if err != nil {
		t.Fatalf("Resize(%+v): %v", opt, err)
	}
	return out, format
}

func assertSquare(t testing.TB, out []byte, format Format, edge int) {
	t.Helper()
	info, err := Inspect(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Info{Format: format, Width: edge, Height: edge, Frames: 1}); info != want {
		t.Errorf("output is %+v, want %+v", info, want)
	}
}

func TestResizeFormatsAndEdges(t *testing.T) {
	src := testimages.JPEG(photo(300, 200), 95)
	for _, format := range []Format{JPEG, PNG, WebP, AVIF, ""} {
		for _, edge := range []int{1, 20, 80, 255, 1024} {
			t.Run(fmt.Sprintf("%s/%d", format, edge), func(t *testing.T) {
				out, got := resize(t, src, Options{Edge: edge, Format: format})
				want := format
				if format == "" {
					want = JPEG // opaque source
				}
				if got != want {
					t.Errorf("format %s, want %s", got, want)
				}
				assertSquare(t, out, want, edge)
			})
		}
	}
}

// bimg's shrink-on-load for JPEG rounds so that, for these sizes, it
// leaves the short side a pixel short.
func TestResizeExactAfterShrinkOnLoadRounding(t *testing.T) {
	for _, size := range []image.Point{{1024, 1023}, {1023, 1024}} {
		src := testimages.JPEG(photo(size.X, size.Y), 95)
		for _, edge := range []int{79, 80} {
			for _, attention := range []bool{false, true} {
				out, format := resize(t, src, Options{Edge: edge, Format: PNG, Attention: attention})
				assertSquare(t, out, format, edge)
			}
		}
	}
}

func TestResizeAppliesEXIFOrientation(t *testing.T) {
	// The displayed top-left, top-right, bottom-left and bottom-right
	// quarters of a stored red, green / blue, yellow image.
	corners := map[uint16][4]color.NRGBA{
		1: {red, green, blue, yellow},
		2: {green, red, yellow, blue}, // mirrored
		3: {yellow, blue, green, red}, // rotated 180°
		4: {blue, yellow, red, green}, // flipped
		5: {red, blue, green, yellow}, // transposed
		6: {blue, red, yellow, green}, // rotated 90° clockwise
		7: {yellow, green, blue, red}, // transversed
		8: {green, yellow, red, blue}, // rotated 90° anticlockwise
	}
	// The large source takes bimg's shrink-on-load path.
	for _, size := range []image.Point{{60, 40}, {900, 600}} {
		stored := testimages.JPEG(testimages.Quadrants(size.X, size.Y), 95)
		for orientation, want := range corners {
			t.Run(fmt.Sprintf("%dx%d/%d", size.X, size.Y, orientation), func(t *testing.T) {
				out, _ := resize(t, testimages.WithOrientation(stored, orientation), Options{Edge: 40, Format: PNG})
				m := decode(t, out)
				assertColor(t, m, 4, 4, want[0], 40)
				assertColor(t, m, 35, 4, want[1], 40)
				assertColor(t, m, 4, 35, want[2], 40)
				assertColor(t, m, 35, 35, want[3], 40)
			})
		}
	}
}

func TestResizeCentreCrop(t *testing.T) {
	for _, size := range []image.Point{{300, 100}, {100, 300}} {
		t.Run(fmt.Sprintf("%dx%d", size.X, size.Y), func(t *testing.T) {
			// Red ends, a green centre square with a blue marker in
			// the middle.
			m := testimages.Solid(size.X, size.Y, red)
			centre := image.Rect(size.X/2-50, size.Y/2-50, size.X/2+50, size.Y/2+50)
			testimages.Fill(m, centre, green)
			testimages.Fill(m, image.Rect(size.X/2-10, size.Y/2-10, size.X/2+10, size.Y/2+10), blue)

			out, format := resize(t, testimages.PNG(m), Options{Edge: 50, Format: PNG})
			assertSquare(t, out, format, 50)
			got := decode(t, out)
			assertColor(t, got, 25, 25, blue, 10)
			for _, p := range []image.Point{{1, 1}, {48, 1}, {1, 48}, {48, 48}} {
				assertColor(t, got, p.X, p.Y, green, 10)
			}
		})
	}
}

func TestResizeAttentionCrop(t *testing.T) {
	// A busy, saturated patch at the left end of a flat gray strip.
	m := testimages.Solid(300, 100, gray)
	for y := 0; y < 100; y += 10 {
		for x := 0; x < 100; x += 10 {
			c := red
			if (x+y)/10%2 == 0 {
				c = yellow
			}
			testimages.Fill(m, image.Rect(x, y, x+10, y+10), c)
		}
	}
	src := testimages.PNG(m)

	centre, _ := resize(t, src, Options{Edge: 50, Format: PNG})
	assertColor(t, decode(t, centre), 25, 25, gray, 10)

	attention, format := resize(t, src, Options{Edge: 50, Format: PNG, Attention: true})
	assertSquare(t, attention, format, 50)
	got := color.NRGBAModel.Convert(decode(t, attention).At(25, 25)).(color.NRGBA)
	if got.R < 200 {
		t.Errorf("attention crop centre is %v, want the red and yellow patch", got)
	}
}

func TestResizeAttentionFallsBackToCentreWhenElongated(t *testing.T) {
	src := testimages.PNG(photo(2000, 7))
	start := time.Now()
	out, format := resize(t, src, Options{Edge: 1024, Format: JPEG, Attention: true})
	assertSquare(t, out, format, 1024)
	// Attention over the 292000 x 1024 enlargement takes a minute.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestResizeEnlargesWithoutDarkEdges(t *testing.T) {
	m := testimages.Solid(8, 8, red)
	testimages.Fill(m, image.Rect(4, 0, 8, 8), blue)
	out, format := resize(t, testimages.PNG(m), Options{Edge: 256, Format: PNG})
	assertSquare(t, out, format, 256)
	got := decode(t, out)
	assertColor(t, got, 0, 0, red, 10)
	assertColor(t, got, 0, 255, red, 10)
	assertColor(t, got, 255, 0, blue, 10)
	assertColor(t, got, 255, 255, blue, 10)
}

func TestResizeAlpha(t *testing.T) {
	// Opaque red left half, transparent right half.
	m := testimages.Solid(64, 64, red)
	testimages.Fill(m, image.Rect(32, 0, 64, 64), clear)
	src := testimages.PNG(m)

	for _, format := range []Format{PNG, WebP, AVIF, ""} {
		t.Run(string(format), func(t *testing.T) {
			out, got := resize(t, src, Options{Edge: 32, Format: format})
			if format == "" && got != PNG {
				t.Errorf("source family of a PNG with alpha is %s, want png", got)
			}
			pixels := decode(t, out)
			assertColor(t, pixels, 4, 16, red, 30)
			assertColor(t, pixels, 28, 16, clear, 30)
		})
	}
	t.Run("jpeg", func(t *testing.T) {
		out, _ := resize(t, src, Options{Edge: 32, Format: JPEG})
		pixels := decode(t, out)
		assertColor(t, pixels, 4, 16, red, 30)
		assertColor(t, pixels, 28, 16, color.NRGBA{255, 255, 255, 255}, 10)
	})
}

func TestResizeGrayscale(t *testing.T) {
	m := image.NewGray(image.Rect(0, 0, 40, 40))
	for i := range m.Pix {
		m.Pix[i] = 100
	}
	for _, format := range []Format{JPEG, PNG, ""} {
		out, got := resize(t, testimages.PNG(m), Options{Edge: 20, Format: format})
		assertSquare(t, out, got, 20)
		assertColor(t, decode(t, out), 10, 10, color.NRGBA{100, 100, 100, 255}, 4)
	}

	// Gray with alpha flattens onto white for JPEG too.
	ga := testimages.Solid(40, 40, color.NRGBA{100, 100, 100, 255})
	testimages.Fill(ga, image.Rect(20, 0, 40, 40), clear)
	out, _ := resize(t, testimages.PNG(ga), Options{Edge: 40, Format: JPEG})
	pixels := decode(t, out)
	assertColor(t, pixels, 5, 20, color.NRGBA{100, 100, 100, 255}, 6)
	assertColor(t, pixels, 35, 20, color.NRGBA{255, 255, 255, 255}, 6)
}

func TestResizeSixteenBitPNG(t *testing.T) {
	m := image.NewNRGBA64(image.Rect(0, 0, 40, 40))
	draw.Draw(m, m.Bounds(), image.NewUniform(color.NRGBA64{0xC000, 0x4000, 0x2000, 0xFFFF}), image.Point{}, draw.Src)
	draw.Draw(m, image.Rect(20, 0, 40, 40), image.NewUniform(color.NRGBA64{}), image.Point{}, draw.Src)
	for _, format := range []Format{PNG, JPEG} {
		out, _ := resize(t, testimages.PNG(m), Options{Edge: 40, Format: format})
		pixels := decode(t, out)
		assertColor(t, pixels, 5, 20, color.NRGBA{0xC0, 0x40, 0x20, 0xFF}, 6)
		if format == PNG {
			assertColor(t, pixels, 35, 20, clear, 4)
		}
	}
}

func TestResizeConcurrently(t *testing.T) {
	r := New(PoolConfig{Workers: 4})
	sources := []struct {
		src  []byte
		want color.NRGBA
	}{
		{testimages.PNG(testimages.Solid(50, 30, red)), red},
		{testimages.JPEG(testimages.Solid(30, 50, blue), 95), blue},
		{twoFrameGIF(), red},
		{convert(t, testimages.PNG(testimages.Solid(40, 40, green)), bimg.Options{Type: bimg.WEBP}), green},
	}
	formats := []Format{JPEG, PNG, WebP, AVIF}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, format := sources[i%len(sources)], formats[i/len(sources)]
			out, got, err := r.Resize(context.Background(), s.src, Options{Edge: 24, Format: format})
			if err != nil {
				t.Errorf("%s: %v", format, err)
				return
			}
			assertSquare(t, out, got, 24)
			assertColor(t, decode(t, out), 12, 12, s.want, 40)
		}()
	}
	wg.Wait()
}

func TestResizePalettePNG(t *testing.T) {
	m := image.NewPaletted(image.Rect(0, 0, 40, 40), color.Palette{blue, clear})
	for y := range 40 {
		for x := 20; x < 40; x++ {
			m.SetColorIndex(x, y, 1)
		}
	}
	out, format := resize(t, testimages.PNG(m), Options{Edge: 40})
	if format != PNG {
		t.Errorf("source family of a palette PNG with transparency is %s, want png", format)
	}
	pixels := decode(t, out)
	assertColor(t, pixels, 5, 20, blue, 4)
	assertColor(t, pixels, 35, 20, clear, 4)
}

func TestResizeAnimatedGIFUsesFirstFrame(t *testing.T) {
	out, format := resize(t, twoFrameGIF(), Options{Edge: 16, Format: PNG})
	assertSquare(t, out, format, 16)
	assertColor(t, decode(t, out), 8, 8, red, 4)
}

func TestResizeSourceFormats(t *testing.T) {
	png := testimages.PNG(testimages.Quadrants(60, 40))
	sources := map[string][]byte{
		"jpeg": testimages.JPEG(testimages.Quadrants(60, 40), 95),
		"png":  png,
		"gif":  twoFrameGIF(),
		"webp": convert(t, png, bimg.Options{Type: bimg.WEBP}),
		"avif": convert(t, png, bimg.Options{Type: bimg.AVIF, Speed: 8}),
		"heif": convert(t, png, bimg.Options{Type: bimg.HEIF}),
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			out, format := resize(t, src, Options{Edge: 30, Format: WebP})
			assertSquare(t, out, format, 30)
		})
	}
}

// CMYK JPEGs are stored inverted by Adobe software; converted naively or
// not at all they come out with wrong or inverted colours.
func TestResizeCMYK(t *testing.T) {
	orange := color.NRGBA{230, 120, 40, 255}
	teal := color.NRGBA{40, 140, 150, 255}
	m := testimages.Solid(64, 64, orange)
	testimages.Fill(m, image.Rect(32, 0, 64, 64), teal)
	rgb := testimages.PNG(m)

	for _, withProfile := range []bool{true, false} {
		t.Run(fmt.Sprintf("profile=%v", withProfile), func(t *testing.T) {
			cmyk := convert(t, rgb, bimg.Options{Type: bimg.JPEG, Interpretation: bimg.InterpretationCMYK, StripMetadata: !withProfile})
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(cmyk))
			if err != nil || cfg.ColorModel != color.CMYKModel {
				t.Fatalf("fixture is not CMYK: %v", err)
			}
			hasProfile := bytes.Contains(cmyk, []byte("ICC_PROFILE"))
			if hasProfile != withProfile {
				t.Fatalf("fixture has ICC profile: %v", hasProfile)
			}

			out, _ := resize(t, cmyk, Options{Edge: 32, Format: PNG})
			pixels := decode(t, out)
			assertColor(t, pixels, 6, 16, orange, 30)
			assertColor(t, pixels, 26, 16, teal, 30)
		})
	}
}

func TestResizeConvertsEmbeddedProfileToSRGB(t *testing.T) {
	// Pure sRGB red stored as Display P3 numbers, about (234, 51, 35).
	p3PNG := convert(t, testimages.PNG(testimages.Solid(16, 16, red)), bimg.Options{Type: bimg.PNG, InputICC: "srgb", OutputICC: "p3"})
	if !bytes.Contains(p3PNG, []byte("iCCP")) {
		t.Fatal("fixture has no ICC profile")
	}
	if stored := color.NRGBAModel.Convert(decode(t, p3PNG).At(8, 8)).(color.NRGBA); stored.G < 30 {
		t.Fatalf("fixture was not converted to P3: %v", stored)
	}
	out, _ := resize(t, p3PNG, Options{Edge: 8, Format: PNG})
	assertColor(t, decode(t, out), 4, 4, red, 8)

	// A rotated JPEG large enough for shrink-on-load, which bimg would
	// reload without its profile.
	p3JPEG := convert(t, testimages.PNG(testimages.Solid(900, 600, red)), bimg.Options{Type: bimg.JPEG, InputICC: "srgb", OutputICC: "p3"})
	out, _ = resize(t, testimages.WithOrientation(p3JPEG, 6), Options{Edge: 32, Format: PNG})
	assertColor(t, decode(t, out), 16, 16, red, 8)
}

func TestResizeStripsMetadata(t *testing.T) {
	src := testimages.WithOrientation(testimages.JPEG(photo(64, 64), 95), 1)
	withProfile := convert(t, testimages.PNG(photo(64, 64)), bimg.Options{Type: bimg.JPEG, InputICC: "srgb", OutputICC: "p3"})
	for _, s := range [][]byte{src, withProfile} {
		if !bytes.Contains(s, []byte("Exif")) && !bytes.Contains(s, []byte("ICC_PROFILE")) {
			t.Fatal("fixture has no metadata")
		}
	}
	for _, source := range [][]byte{src, withProfile} {
		for _, format := range []Format{JPEG, PNG, WebP, AVIF} {
			out, _ := resize(t, source, Options{Edge: 32, Format: format})
			for _, marker := range []string{"Exif", "ICC_PROFILE", "iCCP", "ICCP", "prof", "XMP"} {
				if bytes.Contains(out, []byte(marker)) {
					t.Errorf("%s output contains %q", format, marker)
				}
			}
		}
	}
}

func TestResizeQuality(t *testing.T) {
	src := testimages.JPEG(photo(256, 256), 95)
	low, _ := resize(t, src, Options{Edge: 128, Format: JPEG, Quality: 20})
	high, _ := resize(t, src, Options{Edge: 128, Format: JPEG, Quality: 95})
	if len(low) >= len(high) {
		t.Errorf("quality 20 gave %d bytes, quality 95 %d", len(low), len(high))
	}
}

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

func TestResizeObserve(t *testing.T) {
	var observed []Format
	var took time.Duration
	r := New(PoolConfig{Workers: 1, Observe: func(f Format, d time.Duration) {
		observed = append(observed, f)
		took = d
	}})
	if _, _, err := r.Resize(context.Background(), testimages.PNG(photo(64, 64)), Options{Edge: 32, Format: WebP}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Resize(context.Background(), []byte("nope"), Options{Edge: 32}); err == nil {
		t.Fatal("text accepted")
	}
	if len(observed) != 1 || observed[0] != WebP || took <= 0 {
		t.Errorf("observed %v taking %v, want one webp", observed, took)
	}
}

func TestVipsMemoryTracksWork(t *testing.T) {
	idle := VipsMemory()
	src := testimages.PNG(photo(1500, 1500))
	done := make(chan struct{})
	peaks := make(chan int64)
	go func() {
		var peak int64
		for {
			select {
			case <-done:
				peaks <- peak
				return
			default:
				peak = max(peak, VipsMemory())
			}
		}
	}()
	resize(t, src, Options{Edge: 64, Format: JPEG})
	close(done)
	if peak := <-peaks; peak <= idle {
		t.Errorf("VipsMemory peaked at %d during a resize, %d idle", peak, idle)
	}
}

func TestBlockedLoaders(t *testing.T) {
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>`)
	if _, err := bimg.Resize(svg, bimg.Options{Type: bimg.PNG}); err == nil {
		t.Error("libvips loaded an SVG after Startup")
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"jpeg": JPEG, "jpg": JPEG, "JPG": JPEG, "png": PNG, "webp": WebP, "avif": AVIF} {
		if got, ok := ParseFormat(in); !ok || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "auto", "gif", "heif", "svg"} {
		if got, ok := ParseFormat(in); ok {
			t.Errorf("ParseFormat(%q) = %q", in, got)
		}
	}
	if got := AVIF.ContentType(); got != "image/avif" {
		t.Errorf("AVIF.ContentType() = %q", got)
	}
	if got := JPEG.ContentType(); got != "image/jpeg" {
		t.Errorf("JPEG.ContentType() = %q", got)
	}
}
