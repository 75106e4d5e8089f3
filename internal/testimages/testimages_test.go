package testimages

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

func TestEncodingsKeepTheirPictures(t *testing.T) {
	m := Quadrants(64, 64)
	fromPNG, err := png.Decode(bytes.NewReader(PNG(m)))
	if err != nil {
		t.Fatal(err)
	}
	fromJPEG, err := jpeg.Decode(bytes.NewReader(JPEG(m, 95)))
	if err != nil {
		t.Fatal(err)
	}
	corners := map[image.Point]color.NRGBA{{8, 8}: Red, {56, 8}: Green, {8, 56}: Blue, {56, 56}: Yellow}
	for p, want := range corners {
		if got := color.NRGBAModel.Convert(fromPNG.At(p.X, p.Y)); got != want {
			t.Errorf("PNG at %v is %v, want %v", p, got, want)
		}
		got := color.NRGBAModel.Convert(fromJPEG.At(p.X, p.Y)).(color.NRGBA)
		if d := max(diff(got.R, want.R), diff(got.G, want.G), diff(got.B, want.B)); d > 8 {
			t.Errorf("JPEG at %v is %v, want %v within 8", p, got, want)
		}
	}
}

func diff(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }

func TestSolidKeepsTransparency(t *testing.T) {
	m, err := png.Decode(bytes.NewReader(PNG(Solid(4, 4, Clear))))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, a := m.At(1, 1).RGBA(); a != 0 {
		t.Errorf("alpha %d, want transparent", a)
	}
}

func TestSeededDiffersBySeed(t *testing.T) {
	if bytes.Equal(Seeded("a", 8, 8).Pix, Seeded("b", 8, 8).Pix) {
		t.Error("two seeds give the same picture")
	}
	if !bytes.Equal(Seeded("a", 8, 8).Pix, Seeded("a", 8, 8).Pix) {
		t.Error("one seed gives two pictures")
	}
}

func TestWithOrientation(t *testing.T) {
	jpg := WithOrientation(JPEG(Solid(8, 8, Red), 90), 6)
	// SOI, then APP1 with Exif, big-endian TIFF, one IFD0 entry 0x0112.
	if !bytes.HasPrefix(jpg, []byte{0xff, 0xd8, 0xff, 0xe1}) || !bytes.Equal(jpg[6:12], []byte("Exif\x00\x00")) {
		t.Fatalf("no EXIF segment after SOI: % x", jpg[:16])
	}
	entry := jpg[12+10:]
	if tag, value := binary.BigEndian.Uint16(entry), binary.BigEndian.Uint16(entry[8:]); tag != 0x0112 || value != 6 {
		t.Errorf("first entry is tag %#x = %d, want Orientation 6", tag, value)
	}
	if _, err := jpeg.Decode(bytes.NewReader(jpg)); err != nil {
		t.Errorf("the JPEG no longer decodes: %v", err)
	}
}

func TestGIFs(t *testing.T) {
	anim, err := gif.DecodeAll(bytes.NewReader(AnimatedGIF(color.Palette{Red, Blue}, []int{10, 20}, Solid(4, 4, Red), Solid(4, 4, Blue))))
	if err != nil {
		t.Fatal(err)
	}
	if len(anim.Image) != 2 || anim.Delay[1] != 20 || anim.Image[0].Pix[0] == anim.Image[1].Pix[0] {
		t.Errorf("%d frames, delays %v: want a red then a blue frame", len(anim.Image), anim.Delay)
	}
	many, err := gif.DecodeAll(bytes.NewReader(ManyFrames(50, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if len(many.Image) != 50 || bytes.Equal(many.Image[0].Pix, many.Image[1].Pix) {
		t.Errorf("%d frames, want 50 unlike their neighbours", len(many.Image))
	}
}

func TestPNGClaiming(t *testing.T) {
	for _, b := range [][]byte{PNGClaiming(30000, 20000, nil), PixelBomb()} {
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Width < 20000 || cfg.Height < 20000 {
			t.Errorf("claims %dx%d", cfg.Width, cfg.Height)
		}
	}
	if len(PixelBomb()) > 4096 {
		t.Errorf("the pixel bomb is %d bytes, want a few", len(PixelBomb()))
	}
}
