package resize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/bits"
	"mime"
	"net/http"

	// Register the decoders image.DecodeConfig dispatches to.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/webp"

	"github.com/avatarproxy/avatarproxy/failure"
)

// ErrUnsupported is returned for input that is not an image of an accepted
// format: SVG, HTML, text, an unknown format, or a truncated or malformed
// header.
var ErrUnsupported error = failure.New(failure.Unsupported, "resize: unsupported image")

// Info is what an image's header says about it.
type Info struct {
	Format Format
	// Width and Height are as stored, before any EXIF orientation; for a
	// GIF, the canvas that holds all its frames.
	Width, Height int
	// Frames counts the frames of an animated GIF or WebP; 1 for other
	// formats.
	Frames int
}

// source is what Inspect learns of a source from its headers, with what
// decoding it will cost.
type source struct {
	Info
	// pixels is how many pixels libvips' loader decodes: the canvas, or
	// for AVIF and HEIF every coded image the file holds (grid tiles,
	// alpha, thumbnails), whatever 'ispe' claims.
	pixels uint64
	// bands and sampleBytes describe a decoded pixel as libvips holds it.
	bands, sampleBytes int
	// malformed is a defect found once the size was known; checkSource
	// reports it after the limits, so that a bomb is called too large.
	malformed error
	// damage is where a GIF, WebP, AVIF or HEIF structure, walked once
	// here, ends before its end or points past it; checkIntact reports it
	// after malformed.
	damage error
}

// decodedBytes is the memory the decoded source takes.
func (s source) decodedBytes() uint64 {
	return saturatingMul(s.pixels, uint64(s.bands)*uint64(s.sampleBytes))
}

// Inspect identifies src by its magic bytes and reads its dimensions from
// the header alone, without decoding pixels. It accepts JPEG, PNG, GIF,
// WebP, AVIF and HEIF; every error it returns wraps ErrUnsupported.
func Inspect(src []byte) (Info, error) {
	s, err := inspect(src)
	if err == nil {
		err = s.malformed
	}
	if err != nil {
		return Info{}, err
	}
	return s.Info, nil
}

func inspect(src []byte) (source, error) {
	if len(src) == 0 {
		return source{}, fmt.Errorf("%w: empty body", ErrUnsupported)
	}

	var (
		s   source
		err error
	)
	if isISOBMFF(src) {
		s, err = inspectISOBMFF(src)
	} else {
		s, err = inspectStd(src)
	}
	if err != nil {
		return source{}, err
	}

	if s.Width <= 0 || s.Height <= 0 {
		return source{}, fmt.Errorf("%w: %s of %dx%d pixels", ErrUnsupported, s.Format, s.Width, s.Height)
	}
	s.Frames = max(s.Frames, 1)
	s.pixels = max(s.pixels, uint64(s.Width)*uint64(s.Height))
	return s, nil
}

// inspectStd reads the formats the standard library and x/image know.
func inspectStd(src []byte) (source, error) {
	cfg, name, err := image.DecodeConfig(bytes.NewReader(src))
	if errors.Is(err, image.ErrFormat) {
		return source{}, fmt.Errorf("%w: %s is not accepted", ErrUnsupported, describe(src))
	}
	if err != nil {
		return source{}, fmt.Errorf("%w: %s header: %v", ErrUnsupported, name, err)
	}

	s := source{Info: Info{Width: cfg.Width, Height: cfg.Height}, bands: 4, sampleBytes: 1}
	switch name {
	case "jpeg":
		s.Format = JPEG
		s.bands = jpegBands(cfg.ColorModel)
	case "png":
		s.Format = PNG
		s.bands, s.sampleBytes = pngPixel(src)
	case "gif":
		// libvips decodes to RGBA on a canvas grown to hold every frame.
		g := walkGIF(src)
		s.Format, s.Width, s.Height, s.Frames, s.damage = GIF, g.width, g.height, g.frames, g.damage
	case "webp":
		s.Format = WebP
		w := walkWebP(src)
		s.Frames, s.damage = w.frames, w.damage
		if cfg.ColorModel == color.YCbCrModel && s.Frames <= 1 {
			s.bands = 3 // lossy, without alpha
		}
	default:
		// A format some other package registered with the image package.
		return source{}, fmt.Errorf("%w: %s is not accepted", ErrUnsupported, name)
	}
	return s, nil
}

// jpegBands returns the bands libvips decodes a JPEG of model to.
func jpegBands(model color.Model) int {
	switch model {
	case color.GrayModel:
		return 1
	case color.CMYKModel:
		return 4
	}
	return 3
}

// pngPixel reads from the IHDR chunk, which image.DecodeConfig has found
// sound, the bands and bytes per sample libvips decodes a PNG to: palettes
// and bit depths under 8 are expanded to 8-bit samples, a tRNS chunk adds
// alpha.
func pngPixel(src []byte) (bands, sampleBytes int) {
	const ihdr = 8 + 8 // signature, chunk length and type
	depth, colourType := src[ihdr+8], src[ihdr+9]
	sampleBytes = 1
	if depth == 16 {
		sampleBytes = 2
	}
	switch colourType {
	case 0: // grey
		bands = 1
	case 4: // grey and alpha
		bands = 2
	case 2: // RGB
		bands = 3
	default: // RGBA, palette
		bands = 4
	}
	if bands%2 == 1 && pngHasTransparency(src) {
		bands++
	}
	return bands, sampleBytes
}

// pngHasTransparency reports whether a tRNS chunk precedes the image data.
func pngHasTransparency(src []byte) bool {
	for rest := src[min(8, len(src)):]; len(rest) >= 12; {
		n := uint64(binary.BigEndian.Uint32(rest))
		switch string(rest[4:8]) {
		case "tRNS":
			return true
		case "IDAT":
			return false
		}
		rest = rest[min(12+n, uint64(len(rest))):]
	}
	return false
}

// saturatingMul returns a*b, or the largest uint64 if that overflows.
func saturatingMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

// saturatingAdd returns a+b, or the largest uint64 if that overflows.
func saturatingAdd(a, b uint64) uint64 {
	sum, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return sum
}

// describe names what an unrecognised body looks like, for error messages.
func describe(src []byte) string {
	head := src[:min(len(src), 512)]
	if bytes.Contains(bytes.ToLower(head), []byte("<svg")) {
		return "svg"
	}
	mediaType, _, err := mime.ParseMediaType(http.DetectContentType(src))
	if err != nil {
		return "unknown data"
	}
	switch mediaType {
	case "text/html":
		return "html"
	case "text/plain":
		return "text"
	case "application/octet-stream":
		return "unknown data"
	}
	return mediaType
}
