package placeholder

import (
	"crypto/sha256"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// goBold is parsed on first use; a parsed font is safe for concurrent use.
var goBold = sync.OnceValue(func() *opentype.Font {
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		panic("placeholder: parsing Go Bold: " + err.Error())
	}
	return f
})

// Letter sizing, in pixels: the font size used for the initials, and the
// widest the ink may be before the size is reduced to fit (as for "WM").
const (
	initialsFontSize = 0.5 * Size
	initialsMaxWidth = 0.6 * Size
)

// Initials returns the initials of name (the first letters of its first and
// last words, upper-cased) in white on a colour derived from seed. A name
// with no letter the font can draw gets Identicon(seed) instead.
func Initials(name, seed string) []byte {
	f := goBold()
	var buf sfnt.Buffer
	text := initials(name, func(r rune) bool {
		i, err := f.GlyphIndex(&buf, r)
		return err == nil && i != 0
	})
	if text == "" {
		return Identicon(seed)
	}

	img := image.NewRGBA(square)
	background := initialsBackground(sha256.Sum256([]byte(seed)))
	draw.Draw(img, square, image.NewUniform(background), image.Point{}, draw.Src)
	drawCentred(img, f, text)
	return encode(img)
}

// initials returns the upper-cased first letters of the first and last words
// of name, counting only words whose initial canDraw accepts.
func initials(name string, canDraw func(rune) bool) string {
	var letters []rune
	for _, word := range strings.Fields(name) {
		i := strings.IndexFunc(word, unicode.IsLetter)
		if i < 0 {
			continue
		}
		first, _ := utf8.DecodeRuneInString(word[i:])
		letter := unicode.ToUpper(first)
		if !canDraw(letter) {
			continue
		}
		if len(letters) < 2 {
			letters = append(letters, letter)
		} else {
			letters[1] = letter
		}
	}
	return string(letters)
}

// initialsBackground shares the identicon's hue for a seed, darkened until
// white letters on it are easy to read.
func initialsBackground(sum [sha256.Size]byte) color.RGBA {
	h, s := seedHue(sum), between(sum[2], 0.45, 0.60)
	c := hsl(h, s, 0.48)
	for l := 0.47; contrastWithWhite(c) < 3.5; l -= 0.01 {
		c = hsl(h, s, l)
	}
	return c
}

// drawCentred draws text in white with the centre of its ink on the centre
// of img.
func drawCentred(img draw.Image, f *opentype.Font, text string) {
	d := font.Drawer{Dst: img, Src: image.White, Face: newFace(f, initialsFontSize)}
	ink, _ := d.BoundString(text)
	if width := float64((ink.Max.X - ink.Min.X).Round()); width > initialsMaxWidth {
		d.Face = newFace(f, initialsFontSize*initialsMaxWidth/width)
		ink, _ = d.BoundString(text)
	}
	centre := fixed.I(Size / 2)
	d.Dot = fixed.Point26_6{
		X: centre - (ink.Min.X+ink.Max.X)/2,
		Y: centre - (ink.Min.Y+ink.Max.Y)/2,
	}
	d.DrawString(text)
}

func newFace(f *opentype.Font, size float64) font.Face {
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		// NewFace fails only for options that are not set here.
		panic("placeholder: " + err.Error())
	}
	return face
}
