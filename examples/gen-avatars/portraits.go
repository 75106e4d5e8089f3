package main

import "math"

var white = hex(0xffffff)

// alicePortrait is a head-and-shoulders "photo" in a warm room, 480x640 as
// the viewer should see it.
func alicePortrait() *canvas {
	c := newCanvas(480, 640)
	c.paintAll(linear(0, 0, hex(0xf6e3c6), 480, 640, hex(0xb9786a)))
	// Out-of-focus lights behind her.
	for _, b := range []struct{ x, y, r float64 }{
		{70, 90, 60}, {400, 140, 45}, {380, 40, 30}, {60, 430, 50}, {430, 480, 70},
	} {
		c.fill(circle(b.x, b.y, b.r), glow(b.x, b.y, b.r, b.r, hex(0xfff4dc).withAlpha(0.6)))
	}

	hair := linear(0, 120, hex(0x6b3324), 0, 560, hex(0x3b1a12))
	c.fill(ellipse(240, 330, 152, 215), hair)
	c.fill(roundRect(206, 370, 274, 510, 30), linear(0, 390, hex(0xb97a5c), 0, 470, hex(0xe0a887)))
	c.fill(ellipse(240, 700, 290, 212), linear(60, 500, hex(0x3a9a8f), 420, 640, hex(0x1d5a55)))
	c.fill(ellipse(240, 290, 105, 132), radial(200, 240, 200, hex(0xf7cfae), hex(0xc98a6a)))
	// A fringe sweeping across from the left.
	c.fill(ellipse(240, 202, 120, 82).minus(ellipse(304, 262, 132, 74)), hair)

	for _, x := range []float64{198, 282} {
		c.fill(ellipse(x, 268, 24, 9).minus(ellipse(x, 275, 27, 9)), solid(hex(0x4a2419)))
		c.fill(ellipse(x, 300, 11, 13), solid(hex(0x2b1a17)))
		c.fill(circle(x+4, 295, 3.5), solid(white.withAlpha(0.9)))
		c.fill(ellipse(x-8, 340, 28, 17), glow(x-8, 340, 28, 17, hex(0xf07f86).withAlpha(0.45)))
	}
	c.fill(ellipse(240, 326, 12, 7), glow(240, 326, 12, 7, hex(0xa0604a).withAlpha(0.7)))
	c.fill(ellipse(240, 352, 34, 16).minus(ellipse(240, 342, 40, 14)), solid(hex(0xb04a5a)))

	// Vignette, as a lens would give.
	c.paintAll(func(x, y float64) colour {
		d := math.Hypot((x-240)/240, (y-320)/320)
		return hex(0x2a1410).withAlpha(0.4 * clamp01(d-0.7))
	})
	return c
}

// bobPortrait is a round face with glasses on a transparent background,
// 300x400.
func bobPortrait() *canvas {
	c := newCanvas(300, 400)
	// A soft shadow: partly transparent pixels around the face.
	c.fill(circle(160, 214, 140), glow(160, 214, 140, 140, hex(0x000000).withAlpha(0.35)))
	face := circle(150, 200, 125)
	c.fill(face, radial(105, 145, 210, hex(0xffdd93), hex(0xf09a3e)))
	c.fill(face.and(ellipse(150, 84, 150, 74)), linear(0, 75, hex(0x5a4030), 0, 160, hex(0x3a2618)))

	for _, x := range []float64{109, 191} {
		c.fill(roundRect(x-22, 158, x+22, 167, 4), solid(hex(0x3a2618)))
		c.fill(ellipse(x-6, 246, 26, 16), glow(x-6, 246, 26, 16, hex(0xff6f7d).withAlpha(0.35)))
		c.fill(circle(x, 203, 7.5), solid(hex(0x1e2a3a)))
		c.fill(circle(x+2.5, 200, 2.2), solid(white))
		lens := roundRect(x-31, 178, x+31, 228, 14)
		c.fill(lens, solid(white.withAlpha(0.15)))
		c.fill(lens.minus(roundRect(x-24, 185, x+24, 221, 9)), solid(hex(0x243b55)))
	}
	c.fill(rect(140, 194, 160, 201), solid(hex(0x243b55)))
	c.fill(ellipse(150, 258, 50, 32).minus(ellipse(150, 240, 60, 30)), solid(hex(0x8c2f39)))
	return c
}

// daveFrame is one frame of a blinking robot, 128x128.
func daveFrame(blink bool) *canvas {
	c := newCanvas(128, 128)
	c.paintAll(solid(daveNavy))
	c.fill(rect(62, 16, 66, 36), solid(daveSteel))
	bulb := daveRed
	if blink {
		bulb = daveAmber
	}
	c.fill(circle(64, 14, 7), solid(bulb))
	for _, x := range []float64{16, 102} {
		c.fill(roundRect(x, 58, x+10, 86, 4), solid(daveRed))
	}
	c.fill(roundRect(24, 32, 104, 112, 16), solid(daveSteel))
	c.fill(roundRect(32, 44, 96, 102, 10), solid(daveScreen))
	for _, x := range []float64{48, 80} {
		if blink {
			c.fill(roundRect(x-9, 64, x+9, 69, 2.5), solid(daveNavy))
		} else {
			c.fill(circle(x, 66, 9), solid(daveNavy))
			c.fill(circle(x+3, 63, 2.5), solid(daveScreen))
		}
	}
	c.fill(roundRect(46, 80, 82, 92, 4), solid(daveNavy))
	for _, x := range []float64{55, 64, 73} {
		c.fill(rect(x-1, 80, x+1, 92), solid(daveSteel))
	}
	return c
}

// Dave's colours; the GIF palette is built from them.
var (
	daveNavy   = hex(0x264653)
	daveSteel  = hex(0x8ecae6)
	daveScreen = hex(0xe3f4fb)
	daveRed    = hex(0xe76f51)
	daveAmber  = hex(0xf4c95d)
)

// erinPortrait is a tiny 32x32 face that proxies have to enlarge.
func erinPortrait() *canvas {
	c := newCanvas(32, 32)
	c.paintAll(linear(0, 0, hex(0x7b2cbf), 32, 32, hex(0xd291ff)))
	hair := solid(hex(0x2d1b3d))
	c.fill(ellipse(16, 17, 11.5, 12.5), hair)
	c.fill(ellipse(16, 35, 13, 8), solid(hex(0xffb703)))
	c.fill(ellipse(16, 18, 8, 9.5), radial(14, 15, 12, hex(0xf3c6a0), hex(0xd3946c)))
	c.fill(ellipse(14, 9.5, 10, 5).minus(ellipse(20, 14, 9, 4)), hair)
	for _, x := range []float64{12.8, 19.2} {
		c.fill(circle(x, 18.5, 1.3), solid(hex(0x2d1b3d)))
	}
	c.fill(ellipse(16, 22, 3.2, 1.8).minus(ellipse(16, 21, 3.6, 1.6)), solid(hex(0x9d3b4a)))
	return c
}

// frankPortrait is a bearded man in a hat, in shades of grey, 256x256.
func frankPortrait() *canvas {
	grey := func(v uint32) colour { return hex(v * 0x010101) }
	c := newCanvas(256, 256)
	c.paintAll(radial(128, 90, 210, grey(0xee), grey(0x8c)))
	c.fill(ellipse(128, 300, 124, 92), linear(0, 210, grey(0x50), 0, 256, grey(0x30)))
	c.fill(ellipse(128, 122, 62, 76), radial(110, 100, 110, grey(0xe0), grey(0xa8)))
	c.fill(ellipse(128, 140, 10, 13), glow(128, 140, 10, 13, grey(0x80).withAlpha(0.5)))
	beard := ellipse(128, 160, 66, 68).minus(ellipse(128, 116, 76, 48))
	c.fill(beard, linear(0, 150, grey(0x5a), 0, 228, grey(0x38)))
	c.fill(ellipse(128, 181, 13, 5), solid(grey(0x9a)))
	c.fill(ellipse(128, 165, 30, 9).minus(ellipse(128, 175, 14, 8)), solid(grey(0x42)))
	for _, x := range []float64{104, 152} {
		c.fill(roundRect(x-16, 94, x+16, 102, 4), solid(grey(0x44)))
		c.fill(circle(x, 116, 5), solid(grey(0x22)))
		c.fill(circle(x, 116, 17).minus(circle(x, 116, 14)), solid(grey(0x2a)))
	}
	c.fill(rect(121, 114, 135, 117), solid(grey(0x2a)))
	c.fill(roundRect(50, 56, 206, 70, 7), solid(grey(0x26)))
	c.fill(roundRect(76, 6, 180, 62, 14), linear(76, 0, grey(0x3a), 180, 0, grey(0x22)))
	c.fill(rect(76, 46, 180, 56), solid(grey(0x78)))
	return c
}
