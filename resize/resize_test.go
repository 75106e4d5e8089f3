package resize

import (
	"context"
	"fmt"
	"image"
	"image/color"
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
	m := busyStrip()
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
	assertCorners(t, decode(t, out), 0, [4]color.NRGBA{red, blue, red, blue}, 10)
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

func TestResizeQuality(t *testing.T) {
	src := testimages.JPEG(photo(256, 256), 95)
	low, _ := resize(t, src, Options{Edge: 128, Format: JPEG, Quality: 20})
	high, _ := resize(t, src, Options{Edge: 128, Format: JPEG, Quality: 95})
	if len(low) >= len(high) {
		t.Errorf("quality 20 gave %d bytes, quality 95 %d", len(low), len(high))
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
