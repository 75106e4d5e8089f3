package resize

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// webpLayout is what a WebP file's RIFF container says, read without
// decoding.
type webpLayout struct {
	// frames counts the ANMF chunks of an animation. libwebp's demuxer
	// indexes every frame before the first is decoded, at a cost that
	// grows with the square of their number.
	frames int
	// damage says where the container fails: a RIFF size beyond the
	// bytes present, or a chunk running past the RIFF payload. nil for a
	// whole file.
	damage error
}

// walkWebP walks the chunks of a WebP RIFF container (RFC 9649, 2.6).
// Bytes after the RIFF payload are ignored, as libwebp does.
func walkWebP(src []byte) webpLayout {
	var w webpLayout
	if len(src) < 12 || string(src[:4]) != "RIFF" || string(src[8:12]) != "WEBP" {
		w.damage = errors.New("has no RIFF header")
		return w
	}
	end := 8 + uint64(binary.LittleEndian.Uint32(src[4:]))
	if end > uint64(len(src)) {
		w.damage = fmt.Errorf("%w: RIFF size %d, %d bytes present", errTruncated, end, len(src))
		return w
	}
	images := 0
	for rest := src[12:end]; len(rest) > 0; {
		if len(rest) < 8 {
			w.damage = errTruncated
			return w
		}
		size := uint64(binary.LittleEndian.Uint32(rest[4:]))
		if 8+size > uint64(len(rest)) {
			w.damage = fmt.Errorf("%w: chunk %q of %d bytes runs past the RIFF payload", errTruncated, rest[:4], size)
			return w
		}
		switch string(rest[:4]) {
		case "ANMF":
			w.frames++
			images++
		case "VP8 ", "VP8L":
			images++
		}
		rest = rest[min(8+size+size&1, uint64(len(rest))):] // payloads are padded to even length
	}
	if images == 0 {
		w.damage = errors.New("has no image data")
	}
	return w
}
