package placeholder

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/vector"
)

var (
	mysteryBackground = color.RGBA{0xe2, 0xe2, 0xe2, 0xff}
	mysteryFigure     = color.RGBA{0xa8, 0xa8, 0xa8, 0xff}
)

// MysteryPerson returns a neutral grey silhouette of a head and shoulders on
// a light grey background.
func MysteryPerson() []byte {
	img := image.NewRGBA(square)
	draw.Draw(img, square, image.NewUniform(mysteryBackground), image.Point{}, draw.Src)

	// The rasterizer computes exact pixel coverage, which antialiases edges.
	z := vector.NewRasterizer(Size, Size)
	addEllipse(z, 256, 192, 100, 100)
	// The shoulders are the top of an ellipse that runs off the bottom edge.
	addEllipse(z, 256, 524, 210, 192)
	z.Draw(img, square, image.NewUniform(mysteryFigure), image.Point{})
	return encode(img)
}

// kappa places the control points of the four cubic Bézier curves that
// approximate a quarter ellipse each.
const kappa = 0.5522847498

func addEllipse(z *vector.Rasterizer, cx, cy, rx, ry float32) {
	kx, ky := rx*kappa, ry*kappa
	z.MoveTo(cx+rx, cy)
	z.CubeTo(cx+rx, cy+ky, cx+kx, cy+ry, cx, cy+ry)
	z.CubeTo(cx-kx, cy+ry, cx-rx, cy+ky, cx-rx, cy)
	z.CubeTo(cx-rx, cy-ky, cx-kx, cy-ry, cx, cy-ry)
	z.CubeTo(cx+kx, cy-ry, cx+rx, cy-ky, cx+rx, cy)
	z.ClosePath()
}
