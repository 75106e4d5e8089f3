package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// generated holds one run of the generator, shared by the tests that only
// read its output.
var generated = sync.OnceValue(func() map[string][]byte {
	files := map[string][]byte{}
	for _, a := range avatars {
		files[a.name] = a.encode()
	}
	return files
})

func generatedFile(t *testing.T, name string) []byte {
	t.Helper()
	b, ok := generated()[name]
	if !ok {
		t.Fatalf("the generator makes no %s", name)
	}
	return b
}

func TestGeneratorIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	if err := writeAvatars(dir); err != nil {
		t.Fatal(err)
	}
	for _, a := range avatars {
		if !bytes.Equal(readFile(t, filepath.Join(dir, a.name)), generatedFile(t, a.name)) {
			t.Errorf("%s differs between two runs", a.name)
		}
	}
}

// maxMeanDifference is how far, on average over every pixel and channel
// of 0..255, a committed avatar may stray from what the generator writes
// now. Encoders and float rounding change a little between Go releases and
// architectures; a changed portrait moves far more than this.
const maxMeanDifference = 2.0

func TestCommittedAvatarsMatchGenerator(t *testing.T) {
	for _, a := range avatars {
		committed := readFile(t, filepath.Join("..", "avatars", a.name))
		want := frames(t, a.name, committed)
		got := frames(t, a.name, generatedFile(t, a.name))
		if len(got) != len(want) {
			t.Errorf("examples/avatars/%s has %d frames, the generator writes %d", a.name, len(want), len(got))
			continue
		}
		for i := range got {
			if d, err := meanDifference(got[i], want[i]); err != nil || d > maxMeanDifference {
				t.Errorf("examples/avatars/%s frame %d: %v, mean difference %.2f, want at most %.1f; run go run ./examples/gen-avatars",
					a.name, i, err, d, maxMeanDifference)
			}
		}
		if o, g := orientation(committed), orientation(generatedFile(t, a.name)); o != g {
			t.Errorf("examples/avatars/%s has EXIF orientation %d, the generator writes %d", a.name, o, g)
		}
	}
}

// The comparison above must see a changed picture.
func TestMeanDifferenceSeesAChange(t *testing.T) {
	bob := decode(t, "bob.png", png.Decode)
	moved := image.NewNRGBA(bob.Bounds())
	draw.Draw(moved, moved.Rect, bob, image.Pt(0, 20), draw.Src) // bob 20 pixels higher
	if d, err := meanDifference(bob, moved); err != nil || d <= maxMeanDifference {
		t.Errorf("moving bob by 20 pixels gives mean difference %.2f (%v), want above %.1f", d, err, maxMeanDifference)
	}
	if d, err := meanDifference(bob, bob); err != nil || d != 0 {
		t.Errorf("bob differs from himself by %.2f (%v)", d, err)
	}
}

// frames decodes every frame of an avatar: one for JPEG and PNG, each of
// an animated GIF.
func frames(t *testing.T, name string, b []byte) []image.Image {
	t.Helper()
	if filepath.Ext(name) == ".gif" {
		anim, err := gif.DecodeAll(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out []image.Image
		for _, f := range anim.Image {
			out = append(out, f)
		}
		return out
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return []image.Image{img}
}

// meanDifference is the mean absolute difference of two images of the same
// bounds over every pixel and channel, alpha included, on a 0..255 scale.
func meanDifference(a, b image.Image) (float64, error) {
	if a.Bounds() != b.Bounds() {
		return 0, fmt.Errorf("bounds %v and %v differ", a.Bounds(), b.Bounds())
	}
	var sum float64
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
			cb := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
			for _, d := range [4][2]uint8{{ca.R, cb.R}, {ca.G, cb.G}, {ca.B, cb.B}, {ca.A, cb.A}} {
				sum += math.Abs(float64(d[0]) - float64(d[1]))
			}
		}
	}
	return sum / float64(4*r.Dx()*r.Dy()), nil
}

// orientation is a JPEG's EXIF orientation, 0 when it has none or is not
// a JPEG.
func orientation(b []byte) uint16 {
	o, _ := exifOrientation(b)
	return o
}

func TestAliceIsStoredRotatedWithOrientation6(t *testing.T) {
	b := generatedFile(t, "alice.jpg")
	orientation, err := exifOrientation(b)
	if err != nil {
		t.Fatal(err)
	}
	if orientation != 6 {
		t.Errorf("orientation = %d, want 6", orientation)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, 640, 480) {
		t.Fatalf("bounds = %v, want 640x480", got)
	}
	// Turned a quarter clockwise, the right edge becomes the bottom, where
	// her teal jumper is; the left edge becomes the warm wall above her.
	if c := rgb(img.At(630, 240)); c.G <= c.R {
		t.Errorf("right edge %v is not the teal jumper", c)
	}
	if c := rgb(img.At(10, 240)); c.R <= c.B {
		t.Errorf("left edge %v is not the warm wall", c)
	}
}

func TestAvatarsHaveTheirFormats(t *testing.T) {
	for _, a := range avatars {
		if b := generatedFile(t, a.name); len(b) > 60<<10 {
			t.Errorf("%s is %d bytes, want under 60 KB", a.name, len(b))
		}
	}

	bob := decode(t, "bob.png", png.Decode)
	if bob.Bounds() != image.Rect(0, 0, 300, 400) {
		t.Errorf("bob is %v, want 300x400", bob.Bounds())
	}
	if _, _, _, a := bob.At(2, 2).RGBA(); a != 0 {
		t.Errorf("bob's corner has alpha %d, want transparent", a)
	}
	if _, _, _, a := bob.At(150, 200).RGBA(); a != 0xffff {
		t.Errorf("bob's face has alpha %d, want opaque", a)
	}

	anim, err := gif.DecodeAll(bytes.NewReader(generatedFile(t, "dave.gif")))
	if err != nil {
		t.Fatal(err)
	}
	if len(anim.Image) != 2 || anim.Config.Width != 128 || anim.Config.Height != 128 {
		t.Errorf("dave has %d frames of %dx%d, want 2 of 128x128", len(anim.Image), anim.Config.Width, anim.Config.Height)
	} else if bytes.Equal(anim.Image[0].Pix, anim.Image[1].Pix) {
		t.Error("dave's two frames are the same")
	}

	erin := decode(t, "erin.jpg", jpeg.Decode)
	if erin.Bounds() != image.Rect(0, 0, 32, 32) {
		t.Errorf("erin is %v, want 32x32", erin.Bounds())
	}

	frank := decode(t, "frank.png", png.Decode)
	if frank.Bounds() != image.Rect(0, 0, 256, 256) || frank.ColorModel() != color.GrayModel {
		t.Errorf("frank is %v in %T, want 256x256 grayscale", frank.Bounds(), frank)
	}
}

func decode(t *testing.T, name string, decoder func(io.Reader) (image.Image, error)) image.Image {
	t.Helper()
	img, err := decoder(bytes.NewReader(generatedFile(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func rgb(c color.Color) color.RGBA {
	return color.RGBAModel.Convert(c).(color.RGBA)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exifOrientation reads the Orientation tag from a JPEG's EXIF segment.
func exifOrientation(jpg []byte) (uint16, error) {
	if !bytes.HasPrefix(jpg, []byte{0xff, 0xd8}) {
		return 0, errors.New("not a JPEG")
	}
	for i := 2; i+4 <= len(jpg) && jpg[i] == 0xff && jpg[i+1] != 0xda; {
		end := i + 2 + int(binary.BigEndian.Uint16(jpg[i+2:]))
		if end > len(jpg) {
			break
		}
		segment := jpg[i+4 : end]
		if jpg[i+1] == 0xe1 && bytes.HasPrefix(segment, []byte("Exif\x00\x00")) {
			return tiffOrientation(segment[6:])
		}
		i = end
	}
	return 0, errors.New("no EXIF segment before the image data")
}

func tiffOrientation(tiff []byte) (uint16, error) {
	if len(tiff) < 8 {
		return 0, errors.New("short TIFF header")
	}
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "MM":
		order = binary.BigEndian
	case "II":
		order = binary.LittleEndian
	default:
		return 0, errors.New("bad TIFF byte order")
	}
	ifd := int(order.Uint32(tiff[4:]))
	if ifd+2 > len(tiff) {
		return 0, errors.New("IFD0 out of range")
	}
	for k := range int(order.Uint16(tiff[ifd:])) {
		entry := tiff[ifd+2+12*k:]
		if len(entry) >= 12 && order.Uint16(entry) == 0x0112 {
			return order.Uint16(entry[8:]), nil
		}
	}
	return 0, errors.New("no Orientation tag")
}
