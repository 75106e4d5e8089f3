package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// generated holds one run of the generator, shared by the tests that only
// read its output.
var generated = sync.OnceValues(func() (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, a := range avatars {
		b, err := a.encode()
		if err != nil {
			return nil, err
		}
		files[a.name] = b
	}
	return files, nil
})

func generatedFile(t *testing.T, name string) []byte {
	t.Helper()
	files, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	return files[name]
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

// generatedWith is the Go release that wrote examples/avatars.
const generatedWith = "go1.26.8"

func TestCommittedAvatarsMatchGenerator(t *testing.T) {
	// Encoders and float rounding may change between Go releases and
	// architectures; the files only need to match the toolchain they were
	// made with.
	if runtime.Version() != generatedWith || runtime.GOARCH != "amd64" {
		t.Skipf("sample avatars were generated with %s on amd64", generatedWith)
	}
	for _, a := range avatars {
		got := readFile(t, filepath.Join("..", "avatars", a.name))
		if !bytes.Equal(got, generatedFile(t, a.name)) {
			t.Errorf("examples/avatars/%s is not what the generator writes; run go run ./examples/gen-avatars", a.name)
		}
	}
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
