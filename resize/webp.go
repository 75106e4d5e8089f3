package resize

import (
	"encoding/binary"
	"errors"
)

// stripWebP removes the ICC profile, EXIF and XMP chunks from an extended
// WebP file. libvips 8.14's webpsave writes them even when told to strip
// metadata, EXIF included (rebuilt from the image's own fields).
func stripWebP(b []byte) ([]byte, error) {
	malformed := errors.New("malformed webp container")
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil, malformed
	}

	out := make([]byte, 12, len(b))
	copy(out, b[:12])
	for rest := b[12:]; len(rest) > 0; {
		if len(rest) < 8 {
			return nil, malformed
		}
		size := uint64(binary.LittleEndian.Uint32(rest[4:]))
		end := 8 + size + size&1 // payloads are padded to even length
		if end > uint64(len(rest)) {
			return nil, malformed
		}
		chunk := rest[:end]
		rest = rest[end:]

		switch string(chunk[:4]) {
		case "ICCP", "EXIF", "XMP ":
			continue
		case "VP8X":
			if size < 10 {
				return nil, malformed
			}
			start := len(out)
			out = append(out, chunk...)
			const iccFlag, exifFlag, xmpFlag = 0x20, 0x08, 0x04
			out[start+8] &^= iccFlag | exifFlag | xmpFlag
			continue
		}
		out = append(out, chunk...)
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, nil
}
