package main

import (
	"image"
	"image/color"
	"math"
)

// colour is a non-premultiplied RGBA colour with channels in [0, 1].
type colour struct{ r, g, b, a float64 }

// hex returns the opaque colour 0xRRGGBB.
func hex(v uint32) colour {
	return colour{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255, 1}
}

func (c colour) withAlpha(a float64) colour {
	c.a = a
	return c
}

func mix(c0, c1 colour, t float64) colour {
	t = clamp01(t)
	return colour{
		c0.r + (c1.r-c0.r)*t,
		c0.g + (c1.g-c0.g)*t,
		c0.b + (c1.b-c0.b)*t,
		c0.a + (c1.a-c0.a)*t,
	}
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// A paint gives the colour at a point.
type paint func(x, y float64) colour

func solid(c colour) paint {
	return func(x, y float64) colour { return c }
}

// linear blends from c0 at (x0, y0) to c1 at (x1, y1).
func linear(x0, y0 float64, c0 colour, x1, y1 float64, c1 colour) paint {
	dx, dy := x1-x0, y1-y0
	length2 := dx*dx + dy*dy
	return func(x, y float64) colour {
		return mix(c0, c1, ((x-x0)*dx+(y-y0)*dy)/length2)
	}
}

// radial blends from c0 at (cx, cy) to c1 at distance r and beyond.
func radial(cx, cy, r float64, c0, c1 colour) paint {
	return func(x, y float64) colour {
		return mix(c0, c1, math.Hypot(x-cx, y-cy)/r)
	}
}

// glow is c at (cx, cy), fading smoothly to transparent at the edge of the
// ellipse with radii rx and ry: blush, highlights, out-of-focus lights.
func glow(cx, cy, rx, ry float64, c colour) paint {
	return func(x, y float64) colour {
		u, v := (x-cx)/rx, (y-cy)/ry
		fade := clamp01(1 - (u*u + v*v))
		return c.withAlpha(c.a * fade * fade)
	}
}

// A shape is a region of the plane within a bounding box.
type shape struct {
	minX, minY, maxX, maxY float64
	contains               func(x, y float64) bool
}

func rect(x0, y0, x1, y1 float64) shape {
	return shape{x0, y0, x1, y1, func(x, y float64) bool {
		return x >= x0 && x < x1 && y >= y0 && y < y1
	}}
}

func ellipse(cx, cy, rx, ry float64) shape {
	return shape{cx - rx, cy - ry, cx + rx, cy + ry, func(x, y float64) bool {
		u, v := (x-cx)/rx, (y-cy)/ry
		return u*u+v*v <= 1
	}}
}

func circle(cx, cy, r float64) shape { return ellipse(cx, cy, r, r) }

func roundRect(x0, y0, x1, y1, radius float64) shape {
	return shape{x0, y0, x1, y1, func(x, y float64) bool {
		// Distance outside the inner rectangle whose corners are the
		// centres of the rounding circles.
		dx := math.Max(0, math.Max(x0+radius-x, x-(x1-radius)))
		dy := math.Max(0, math.Max(y0+radius-y, y-(y1-radius)))
		return x >= x0 && x < x1 && y >= y0 && y < y1 && dx*dx+dy*dy <= radius*radius
	}}
}

// and is the part of s that is also in t.
func (s shape) and(t shape) shape {
	return shape{
		math.Max(s.minX, t.minX), math.Max(s.minY, t.minY),
		math.Min(s.maxX, t.maxX), math.Min(s.maxY, t.maxY),
		func(x, y float64) bool { return s.contains(x, y) && t.contains(x, y) },
	}
}

// minus is the part of s that is not in t.
func (s shape) minus(t shape) shape {
	return shape{s.minX, s.minY, s.maxX, s.maxY, func(x, y float64) bool {
		return s.contains(x, y) && !t.contains(x, y)
	}}
}

// samples is the edge of the grid of points tested in each pixel, which
// antialiases shape edges.
const samples = 4

// canvas is a picture being painted, held as premultiplied RGBA in [0, 1].
type canvas struct {
	width, height int
	pix           []float64
}

func newCanvas(width, height int) *canvas {
	return &canvas{width, height, make([]float64, 4*width*height)}
}

// fill paints the part of the canvas inside s with p.
func (c *canvas) fill(s shape, p paint) {
	x0, y0 := max(0, int(math.Floor(s.minX))), max(0, int(math.Floor(s.minY)))
	x1, y1 := min(c.width, int(math.Ceil(s.maxX))), min(c.height, int(math.Ceil(s.maxY)))
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			inside := 0
			for sy := range samples {
				for sx := range samples {
					px := float64(x) + (float64(sx)+0.5)/samples
					py := float64(y) + (float64(sy)+0.5)/samples
					if s.contains(px, py) {
						inside++
					}
				}
			}
			if inside == 0 {
				continue
			}
			col := p(float64(x)+0.5, float64(y)+0.5)
			a := col.a * float64(inside) / (samples * samples)
			i := 4 * (y*c.width + x)
			c.pix[i+0] = col.r*a + c.pix[i+0]*(1-a)
			c.pix[i+1] = col.g*a + c.pix[i+1]*(1-a)
			c.pix[i+2] = col.b*a + c.pix[i+2]*(1-a)
			c.pix[i+3] = a + c.pix[i+3]*(1-a)
		}
	}
}

// paintAll paints the whole canvas with p.
func (c *canvas) paintAll(p paint) {
	c.fill(rect(0, 0, float64(c.width), float64(c.height)), p)
}

// addGrain adds a little fixed noise to every opaque pixel, as film grain or
// sensor noise would, so the picture reads as a photo.
func (c *canvas) addGrain(amount float64) {
	for i := 0; i < len(c.pix); i += 4 {
		n := (noise(uint32(i/4)) - 0.5) * amount * c.pix[i+3]
		for ch := range 3 {
			c.pix[i+ch] = clamp01(c.pix[i+ch] + n)
		}
	}
}

// noise is a fixed pseudo-random value in [0, 1) for each index.
func noise(i uint32) float64 {
	i ^= i >> 16
	i *= 0x7feb352d
	i ^= i >> 15
	i *= 0x846ca68b
	i ^= i >> 16
	return float64(i) / (1 << 32)
}

// at returns the pixel at (x, y) as an 8-bit non-premultiplied colour.
func (c *canvas) at(x, y int) color.NRGBA {
	i := 4 * (y*c.width + x)
	a := c.pix[i+3]
	if a == 0 {
		return color.NRGBA{}
	}
	to8 := func(v float64) uint8 { return uint8(math.Round(clamp01(v) * 255)) }
	return color.NRGBA{to8(c.pix[i] / a), to8(c.pix[i+1] / a), to8(c.pix[i+2] / a), to8(a)}
}

func (c *canvas) image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, c.width, c.height))
	for y := range c.height {
		for x := range c.width {
			img.SetNRGBA(x, y, c.at(x, y))
		}
	}
	return img
}
