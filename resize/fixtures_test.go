package resize

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"github.com/h2non/bimg"
	"golang.org/x/image/webp"
)

// Sources are generated here rather than shipped, so that every property a
// test relies on (colours, markers, orientation, profiles) is visible next
// to the test.

var (
	red    = color.NRGBA{255, 0, 0, 255}
	green  = color.NRGBA{0, 255, 0, 255}
	blue   = color.NRGBA{0, 0, 255, 255}
	yellow = color.NRGBA{255, 255, 0, 255}
	gray   = color.NRGBA{128, 128, 128, 255}
	clear  = color.NRGBA{0, 0, 0, 0}
)

func filled(w, h int, c color.Color) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(m, m.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return m
}

func fill(m draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(m, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// quadrants returns a w x h image whose quarters are red, green (top),
// blue and yellow (bottom).
func quadrants(w, h int) *image.NRGBA {
	m := filled(w, h, red)
	fill(m, image.Rect(w/2, 0, w, h/2), green)
	fill(m, image.Rect(0, h/2, w/2, h), blue)
	fill(m, image.Rect(w/2, h/2, w, h), yellow)
	return m
}

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

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
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

// withOrientation inserts an EXIF segment with the given orientation right
// after the SOI marker of a JPEG.
func withOrientation(src []byte, orientation uint16) []byte {
	exif := []byte("Exif\x00\x00")
	exif = append(exif, 'M', 'M', 0, 42, 0, 0, 0, 8) // big-endian TIFF, IFD0 at 8
	exif = binary.BigEndian.AppendUint16(exif, 1)    // one entry:
	exif = binary.BigEndian.AppendUint16(exif, 0x0112)
	exif = binary.BigEndian.AppendUint16(exif, 3) // SHORT
	exif = binary.BigEndian.AppendUint32(exif, 1)
	exif = binary.BigEndian.AppendUint16(exif, orientation)
	exif = append(exif, 0, 0)       // value padding
	exif = append(exif, 0, 0, 0, 0) // no next IFD

	out := append([]byte{}, src[:2]...)
	out = append(out, 0xFF, 0xE1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(exif)+2))
	out = append(out, exif...)
	return append(out, src[2:]...)
}

// pngHeader returns a PNG whose IHDR claims w x h RGBA pixels, with idat
// as its image data, or none when idat is nil.
func pngHeader(w, h uint32, idat []byte) []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA, no interlace
	out = appendChunk(out, "IHDR", ihdr)
	if idat != nil {
		out = appendChunk(out, "IDAT", idat)
	}
	return appendChunk(out, "IEND", nil)
}

func appendChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// twoFrameGIF returns an animation whose first frame is red and second blue.
func twoFrameGIF(t testing.TB) []byte {
	t.Helper()
	palette := color.Palette{red, blue}
	frame := func(index uint8) *image.Paletted {
		m := image.NewPaletted(image.Rect(0, 0, 32, 32), palette)
		for i := range m.Pix {
			m.Pix[i] = index
		}
		return m
	}
	var b bytes.Buffer
	err := gif.EncodeAll(&b, &gif.GIF{
		Image: []*image.Paletted{frame(0), frame(1)},
		Delay: []int{10, 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
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
