// Package placeholder renders the default avatars served for users who have
// none: identicons, initials, a mystery-person silhouette and a blank image.
//
// Every function returns a PNG of Size x Size pixels, which the proxy then
// resizes like any original. Shapes are drawn to stay crisp at full size and
// legible when scaled down.
package placeholder

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
)

// Size is the edge, in pixels, of every image this package renders.
const Size = 512

var square = image.Rect(0, 0, Size, Size)

// Blank returns a fully transparent image.
func Blank() []byte {
	return encode(image.NewPaletted(square, color.Palette{color.Transparent}))
}

func encode(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		// Encoding an in-memory image into a buffer cannot fail.
		panic("placeholder: " + err.Error())
	}
	return buf.Bytes()
}

// The yellow-green band of hues looks neon when light and muddy when dark,
// so seed colours skip it.
const (
	skippedHueStart = 40.0
	skippedHueWidth = 45.0
)

// seedHue picks a hue in degrees from the first two bytes of a seed's hash.
func seedHue(sum [sha256.Size]byte) float64 {
	h := float64(binary.BigEndian.Uint16(sum[:2])) / (1 << 16) * (360 - skippedHueWidth)
	if h >= skippedHueStart {
		h += skippedHueWidth
	}
	return h
}

// between maps a hash byte onto the range [lo, hi].
func between(b byte, lo, hi float64) float64 {
	return lo + (hi-lo)*float64(b)/255
}

// hsl converts a hue in degrees and a saturation and lightness in [0, 1] to
// an opaque colour.
func hsl(h, s, l float64) color.RGBA {
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	var r, g, b float64
	switch {
	case h < 60:
		r, g = c, x
	case h < 120:
		r, g = x, c
	case h < 180:
		g, b = c, x
	case h < 240:
		g, b = x, c
	case h < 300:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	channel := func(v float64) uint8 { return uint8(math.Round((v + m) * 255)) }
	return color.RGBA{channel(r), channel(g), channel(b), 0xff}
}

// contrastWithWhite is the WCAG contrast ratio between white and c.
func contrastWithWhite(c color.RGBA) float64 {
	linear := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	luminance := 0.2126*linear(c.R) + 0.7152*linear(c.G) + 0.0722*linear(c.B)
	return 1.05 / (luminance + 0.05)
}
