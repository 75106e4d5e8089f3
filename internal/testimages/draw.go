// Package testimages builds the images the tests, the soak and the sample
// generator feed the proxy: pictures of known colours, their encodings,
// and the quirks an avatar can carry (EXIF orientation, transparency,
// animation, a header that lies about the size). It links nothing but the
// standard library and golang.org/x/image, so commands may use it too.
package testimages

import (
	"crypto/sha256"
	"image"
	"image/color"
	"image/draw"
)

// Colours the tests name.
var (
	Red    = color.NRGBA{255, 0, 0, 255}
	Green  = color.NRGBA{0, 255, 0, 255}
	Blue   = color.NRGBA{0, 0, 255, 255}
	Yellow = color.NRGBA{255, 255, 0, 255}
	Gray   = color.NRGBA{128, 128, 128, 255}
	Clear  = color.NRGBA{0, 0, 0, 0}
)

// Solid returns a w x h image of one colour, with alpha when c is
// translucent.
func Solid(w, h int, c color.Color) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	Fill(m, m.Bounds(), c)
	return m
}

// Fill paints r of m in c, alpha included.
func Fill(m draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(m, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// Quadrants returns a w x h image whose quarters are red, green (top),
// blue and yellow (bottom): every crop and turn shows in its corners.
func Quadrants(w, h int) *image.NRGBA {
	m := Solid(w, h, Red)
	Fill(m, image.Rect(w/2, 0, w, h/2), Green)
	Fill(m, image.Rect(0, h/2, w/2, h), Blue)
	Fill(m, image.Rect(w/2, h/2, w, h), Yellow)
	return m
}

// Gradient returns an opaque w x h image whose every pixel differs from
// its neighbours, which gives an encoder real work.
func Gradient(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	return m
}

// Seeded returns a w x h grid of 4 x 4 opaque colours taken from seed's
// SHA-256: different seeds give visibly different images.
func Seeded(seed string, w, h int) *image.NRGBA {
	sum := sha256.Sum256([]byte(seed))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			cell := (y*4/h)*4 + x*4/w
			m.SetNRGBA(x, y, color.NRGBA{sum[cell], sum[(cell+11)%32], sum[(cell+23)%32], 0xff})
		}
	}
	return m
}
