package resize

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"github.com/h2non/bimg"
	"golang.org/x/image/webp"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// Sources are generated here rather than shipped, so that every property a
// test relies on (colours, markers, orientation, profiles) is visible next
// to the test.

var (
	red    = testimages.Red
	green  = testimages.Green
	blue   = testimages.Blue
	yellow = testimages.Yellow
	gray   = testimages.Gray
	clear  = testimages.Clear
)

// photo returns a smooth, detailed image that encoders have to work on.
func photo(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			m.SetNRGBA(x, y, color.NRGBA{
				R: uint8(255 * fx),
				G: uint8(127 + 127*math.Sin(12*fx+7*fy)),
				B: uint8(255 * fy),
				A: 255,
			})
		}
	}
	return m
}

// convert re-encodes src with libvips, for source formats and colour
// spaces the standard library cannot write.
func convert(t testing.TB, src []byte, o bimg.Options) []byte {
	t.Helper()
	if o.Quality == 0 {
		o.Quality = 95
	}
	out, err := bimg.Resize(src, o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// twoFrameGIF returns an animation whose first frame is red and second blue.
func twoFrameGIF() []byte {
	return testimages.AnimatedGIF(color.Palette{red, blue}, []int{10, 10},
		testimages.Solid(32, 32, red), testimages.Solid(32, 32, blue))
}

// decode returns the pixels of an output, whatever its format.
func decode(t testing.TB, b []byte) image.Image {
	t.Helper()
	info, err := Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	var m image.Image
	switch info.Format {
	case JPEG:
		m, err = jpeg.Decode(bytes.NewReader(b))
	case PNG:
		m, err = png.Decode(bytes.NewReader(b))
	case WebP:
		m, err = webp.Decode(bytes.NewReader(b))
	case AVIF:
		m, err = png.Decode(bytes.NewReader(convert(t, b, bimg.Options{Type: bimg.PNG})))
	default:
		t.Fatalf("cannot decode %s", info.Format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// assertColor checks the pixel at (x, y) is within tolerance of want in
// every channel, alpha included.
func assertColor(t testing.TB, m image.Image, x, y int, want color.NRGBA, tolerance int) {
	t.Helper()
	got := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
	if got.A == 0 && want.A == 0 {
		return // colour under full transparency is meaningless
	}
	diff := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
	if diff(got.R, want.R) > tolerance || diff(got.G, want.G) > tolerance ||
		diff(got.B, want.B) > tolerance || diff(got.A, want.A) > tolerance {
		t.Errorf("pixel (%d,%d) = %v, want %v ± %d", x, y, got, want, tolerance)
	}
}

// busyStrip returns a flat gray 300x100 strip with a busy, saturated
// 100x100 checkerboard at its left end.
func busyStrip() *image.NRGBA {
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
	return m
}

// assertCorners checks the pixels inset from each corner of m against
// want, in the order top left, top right, bottom left, bottom right.
func assertCorners(t testing.TB, m image.Image, inset int, want [4]color.NRGBA, tolerance int) {
	t.Helper()
	b := m.Bounds()
	left, top, right, bottom := b.Min.X+inset, b.Min.Y+inset, b.Max.X-1-inset, b.Max.Y-1-inset
	assertColor(t, m, left, top, want[0], tolerance)
	assertColor(t, m, right, top, want[1], tolerance)
	assertColor(t, m, left, bottom, want[2], tolerance)
	assertColor(t, m, right, bottom, want[3], tolerance)
}

// overflowingGIF returns a GIF whose logical screen claims 1x1 pixels and
// whose only frame is w x h.
func overflowingGIF(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	m := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{red, blue})
	if err := gif.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	binary.LittleEndian.PutUint16(out[6:], 1)
	binary.LittleEndian.PutUint16(out[8:], 1)
	return out
}
