package resize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"mime"
	"net/http"

	// Register the decoders image.DecodeConfig dispatches to.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/webp"
)

// ErrUnsupported is returned for input that is not an image of an accepted
// format: SVG, HTML, text, an unknown format, or a truncated or malformed
// header.
var ErrUnsupported = errors.New("resize: unsupported image")

// Info is what an image's header says about it.
type Info struct {
	Format Format
	// Width and Height are as stored, before any EXIF orientation; for a
	// GIF, the canvas that holds all its frames.
	Width, Height int
	// Frames counts a GIF's frames; 1 for other formats.
	Frames int
}

// Inspect identifies src by its magic bytes and reads its dimensions from
// the header alone, without decoding pixels. It accepts JPEG, PNG, GIF,
// WebP, AVIF and HEIF; every error it returns wraps ErrUnsupported.
func Inspect(src []byte) (Info, error) {
	if len(src) == 0 {
		return Info{}, fmt.Errorf("%w: empty body", ErrUnsupported)
	}

	var (
		info Info
		err  error
	)
	if isISOBMFF(src) {
		info, err = inspectISOBMFF(src)
	} else {
		info, err = inspectStd(src)
	}
	if err != nil {
		return Info{}, err
	}

	if info.Width <= 0 || info.Height <= 0 {
		return Info{}, fmt.Errorf("%w: %s of %dx%d pixels", ErrUnsupported, info.Format, info.Width, info.Height)
	}
	info.Frames = max(info.Frames, 1)
	return info, nil
}

// inspectStd reads the formats the standard library and x/image know.
func inspectStd(src []byte) (Info, error) {
	cfg, name, err := image.DecodeConfig(bytes.NewReader(src))
	if errors.Is(err, image.ErrFormat) {
		return Info{}, fmt.Errorf("%w: %s is not accepted", ErrUnsupported, describe(src))
	}
	if err != nil {
		return Info{}, fmt.Errorf("%w: %s header: %v", ErrUnsupported, name, err)
	}

	var f Format
	switch name {
	case "jpeg":
		f = JPEG
	case "png":
		f = PNG
	case "gif":
		// libvips grows the logical screen to hold frames that overflow it,
		// so a GIF claiming 1x1 pixels can decode to 65535x65535.
		w, h, frames := gifCanvas(src, cfg.Width, cfg.Height)
		return Info{Format: GIF, Width: w, Height: h, Frames: frames}, nil
	case "webp":
		f = WebP
	default:
		// A format some other package registered with the image package.
		return Info{}, fmt.Errorf("%w: %s is not accepted", ErrUnsupported, name)
	}
	return Info{Format: f, Width: cfg.Width, Height: cfg.Height}, nil
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

// gifCanvas returns the logical screen size w x h of a GIF grown to hold
// every frame its image descriptors place on it, and the number of frames.
// It walks the block structure without decoding, and stops quietly where
// the data ends or stops making sense: libvips will reject such a file.
func gifCanvas(src []byte, w, h int) (width, height, frames int) {
	const extension, descriptor = 0x21, 0x2C
	// colourTable returns the length of the colour table that flags say
	// follows.
	colourTable := func(flags byte) int {
		if flags&0x80 == 0 {
			return 0
		}
		return 3 << (flags&7 + 1)
	}
	// skipSubBlocks returns the position after a sequence of data
	// sub-blocks starting at p.
	skipSubBlocks := func(p int) int {
		for p < len(src) {
			n := int(src[p])
			p += 1 + n
			if n == 0 {
				break
			}
		}
		return p
	}

	if len(src) < 13 {
		return w, h, frames
	}
	p := 13 + colourTable(src[10]) // header, logical screen descriptor, global table
	for p < len(src) {
		switch src[p] {
		case extension:
			p = skipSubBlocks(p + 2)
		case descriptor:
			if p+10 > len(src) {
				return w, h, frames
			}
			frames++
			left, top := int(binary.LittleEndian.Uint16(src[p+1:])), int(binary.LittleEndian.Uint16(src[p+3:]))
			width, height := int(binary.LittleEndian.Uint16(src[p+5:])), int(binary.LittleEndian.Uint16(src[p+7:]))
			w, h = max(w, left+width), max(h, top+height)
			p += 10 + colourTable(src[p+9])
			p = skipSubBlocks(p + 1) // past the LZW minimum code size
		default: // the trailer, or garbage
			return w, h, frames
		}
	}
	return w, h, frames
}
