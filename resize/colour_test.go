package resize

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"testing"

	"github.com/h2non/bimg"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

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
