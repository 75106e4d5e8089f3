package placeholder

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
)

// decode checks that b is a Size x Size PNG and returns its image.
func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, Size, Size) {
		t.Fatalf("bounds = %v, want %dx%d", got, Size, Size)
	}
	return img
}

func rgba(c color.Color) color.RGBA {
	return color.RGBAModel.Convert(c).(color.RGBA)
}

func TestEveryImageIsASquarePNG(t *testing.T) {
	images := map[string][]byte{
		"Blank":         Blank(),
		"MysteryPerson": MysteryPerson(),
		"Identicon":     Identicon("github/42"),
		"Initials":      Initials("Ana", "github/42"),
	}
	for name, b := range images {
		t.Run(name, func(t *testing.T) { decode(t, b) })
	}
}

func TestDeterministic(t *testing.T) {
	renders := map[string]func() []byte{
		"Blank":         Blank,
		"MysteryPerson": MysteryPerson,
		"Identicon":     func() []byte { return Identicon("gitlab/7") },
		"Initials":      func() []byte { return Initials("Jean-Luc Picard", "gitlab/7") },
	}
	for name, render := range renders {
		if !bytes.Equal(render(), render()) {
			t.Errorf("%s: two renders differ", name)
		}
	}
}

func TestBlankIsFullyTransparent(t *testing.T) {
	img := decode(t, Blank())
	for y := range Size {
		for x := range Size {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0 {
				t.Fatalf("pixel (%d,%d) has alpha %d", x, y, a)
			}
		}
	}
}

func TestMysteryPersonHasHeadAndShoulders(t *testing.T) {
	img := decode(t, MysteryPerson())
	points := []struct {
		x, y int
		want color.RGBA
	}{
		{10, 10, mysteryBackground},
		{256, 192, mysteryFigure},     // head
		{256, 310, mysteryBackground}, // neck gap
		{256, 500, mysteryFigure},     // shoulders
		{5, 505, mysteryBackground},
	}
	for _, p := range points {
		if got := rgba(img.At(p.x, p.y)); got != p.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", p.x, p.y, got, p.want)
		}
	}
	// Where the head's edge runs diagonally, antialiasing leaves pixels
	// between the two greys.
	blended := false
	for x := 175; x < 196; x++ {
		if c := rgba(img.At(x, 121)); c.R > mysteryFigure.R && c.R < mysteryBackground.R {
			blended = true
		}
	}
	if !blended {
		t.Error("head edge is not antialiased")
	}
}

func TestIdenticonIsSymmetric(t *testing.T) {
	for i := range 20 {
		img := decode(t, Identicon(fmt.Sprintf("github/%d", i)))
		for y := 0; y < Size; y += 7 {
			for x := range Size / 2 {
				if l, r := img.At(x, y), img.At(Size-1-x, y); rgba(l) != rgba(r) {
					t.Fatalf("seed %d: pixel (%d,%d) = %v but its mirror = %v", i, x, y, l, r)
				}
			}
		}
	}
}

func TestIdenticonHasMarginAndTwoColours(t *testing.T) {
	img := decode(t, Identicon("github/1"))
	colours := map[color.RGBA]bool{}
	for y := range Size {
		for x := range Size {
			c := rgba(img.At(x, y))
			colours[c] = true
			inGrid := x >= gridMargin && x < Size-gridMargin && y >= gridMargin && y < Size-gridMargin
			if !inGrid && c != identiconBackground {
				t.Fatalf("margin pixel (%d,%d) = %v, want background", x, y, c)
			}
		}
	}
	if len(colours) != 2 {
		t.Errorf("identicon has %d colours, want 2", len(colours))
	}
}

func TestIdenticonsDifferAcrossSeeds(t *testing.T) {
	seen := map[string]string{}
	foregrounds := map[color.RGBA]bool{}
	for i := range 50 {
		seed := fmt.Sprintf("github/%d", i)
		b := Identicon(seed)
		if other, ok := seen[string(b)]; ok {
			t.Fatalf("seeds %q and %q give the same identicon", seed, other)
		}
		seen[string(b)] = seed
		if p, ok := decode(t, b).(*image.Paletted); ok && len(p.Palette) == 2 {
			foregrounds[rgba(p.Palette[1])] = true
		}
	}
	if len(foregrounds) < 40 {
		t.Errorf("50 seeds gave only %d foreground colours", len(foregrounds))
	}
}

func TestInitialsLetters(t *testing.T) {
	latin := func(r rune) bool { return r < 0x2000 }
	tests := []struct{ name, want string }{
		{"Ana", "A"},
		{"jean-luc picard", "JP"},
		{"Mary Jane Watson", "MW"},
		{"  ", ""},
		{"", ""},
		{"李小龍", ""},
		{"🙂🎉", ""},
		{"🙂 zoë", "Z"},
		{"élodie ødegaard", "ÉØ"},
		{"иван жуков", "ИЖ"},
		{"(bob) 42", "B"},
		{"李小龍 Bruce Lee", "BL"},
	}
	for _, tt := range tests {
		if got := initials(tt.name, latin); got != tt.want {
			t.Errorf("initials(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestInitialsDrawsCentredWhiteLetters(t *testing.T) {
	for _, name := range []string{"Ana", "jean-luc picard", "Wm Mw", "Élodie"} {
		img := decode(t, Initials(name, "github/3"))
		background := initialsBackground(sha256.Sum256([]byte("github/3")))
		if got := rgba(img.At(2, 2)); got != background {
			t.Errorf("%q: corner = %v, want background %v", name, got, background)
		}
		ink := image.Rectangle{}
		for y := range Size {
			for x := range Size {
				if rgba(img.At(x, y)) == (color.RGBA{0xff, 0xff, 0xff, 0xff}) {
					ink = ink.Union(image.Rect(x, y, x+1, y+1))
				}
			}
		}
		if ink.Empty() {
			t.Fatalf("%q: no white pixels", name)
		}
		centre := ink.Min.Add(ink.Max).Div(2)
		if d := centre.Sub(image.Pt(Size/2, Size/2)); abs(d.X) > 4 || abs(d.Y) > 4 {
			t.Errorf("%q: letters centred at %v, want near (256,256)", name, centre)
		}
		if ink.Dx() > Size*3/4 || ink.Dy() < Size/4 {
			t.Errorf("%q: letters span %v, want legible and inside the image", name, ink)
		}
	}
}

func TestInitialsFallBackToIdenticon(t *testing.T) {
	for _, name := range []string{"", "  ", "李小龍", "🙂🎉", "123"} {
		if !bytes.Equal(Initials(name, "github/9"), Identicon("github/9")) {
			t.Errorf("Initials(%q) is not the identicon", name)
		}
	}
}

func TestInitialsBackgroundKeepsWhiteReadable(t *testing.T) {
	for i := range 200 {
		c := initialsBackground(sha256.Sum256([]byte(fmt.Sprint(i))))
		if r := contrastWithWhite(c); r < 3.5 {
			t.Fatalf("seed %d: background %v has contrast %.2f with white", i, c, r)
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// The default avatars pass the least source limits configuration accepts.
func TestDefaultsFitTheLeastSourceLimits(t *testing.T) {
	if Size*Size > config.MinSourcePixels || Size*Size*4 > config.MinSourceDecodedBytes {
		t.Fatalf("%d px defaults exceed config.MinSourcePixels %d or MinSourceDecodedBytes %d",
			Size, config.MinSourcePixels, config.MinSourceDecodedBytes)
	}
}
