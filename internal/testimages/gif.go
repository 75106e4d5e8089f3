package testimages

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
)

// AnimatedGIF encodes frames, each mapped to the nearest colours of
// palette without dithering, shown for delays[i] hundredths of a second
// and looping for ever.
func AnimatedGIF(palette color.Palette, delays []int, frames ...image.Image) []byte {
	anim := &gif.GIF{Delay: delays}
	for _, f := range frames {
		p := image.NewPaletted(f.Bounds(), palette)
		draw.Draw(p, p.Rect, f, f.Bounds().Min, draw.Src)
		anim.Image = append(anim.Image, p)
	}
	var b bytes.Buffer
	must(gif.EncodeAll(&b, anim))
	return b.Bytes()
}

// ManyFrames returns an edge x edge black and white GIF of n frames, each
// unlike the one before: an animation too long to convert.
func ManyFrames(n, edge int) []byte {
	anim := &gif.GIF{}
	for i := range n {
		p := image.NewPaletted(image.Rect(0, 0, edge, edge), color.Palette{color.Black, color.White})
		p.SetColorIndex(i%edge, (i/edge)%edge, 1)
		anim.Image = append(anim.Image, p)
		anim.Delay = append(anim.Delay, 2)
	}
	var b bytes.Buffer
	must(gif.EncodeAll(&b, anim))
	return b.Bytes()
}
