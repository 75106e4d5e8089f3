package testimages

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
)

// JPEG encodes m at the given quality (1..100).
func JPEG(m image.Image, quality int) []byte {
	var b bytes.Buffer
	must(jpeg.Encode(&b, m, &jpeg.Options{Quality: quality}))
	return b.Bytes()
}

// PNG encodes m losslessly, alpha included; a *image.Gray stays grey.
func PNG(m image.Image) []byte {
	var b bytes.Buffer
	must(png.Encode(&b, m))
	return b.Bytes()
}

// must stops on an encoding error. Encoding an in-memory image into memory
// fails only for an image no caller here builds (empty, or wider than the
// format allows), which is a mistake in the caller.
func must(err error) {
	if err != nil {
		panic("testimages: " + err.Error())
	}
}

// SeededJPEG is Seeded(seed, w, h) as a JPEG of quality 90.
func SeededJPEG(seed string, w, h int) []byte { return JPEG(Seeded(seed, w, h), 90) }

// SeededPNG is Seeded(seed, w, h) as a PNG.
func SeededPNG(seed string, w, h int) []byte { return PNG(Seeded(seed, w, h)) }
