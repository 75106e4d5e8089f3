package resize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// libvips decodes leniently, and bimg cannot ask it otherwise: a JPEG cut
// short comes out grey below the cut, a PNG with damaged image data comes
// out with garbage rows, a GIF cut short comes out blank below the cut.
// Such output would be cached as the user's avatar, so checkIntact looks
// for the damage first, from the file's structure alone.

// checkIntact reports, as ErrBadImage, a source whose structure ends
// before its end or has a length pointing past it: a JPEG without its end
// of image marker; a PNG without its IEND chunk, or with a chunk whose
// checksum does not match; a GIF whose blocks do not reach its trailer; a
// WebP whose RIFF size or a chunk's runs past the bytes present; an AVIF
// or HEIF with a box, or an item's data, beyond the end of the file. The
// structures inspect walks anyway, GIF, WebP and ISOBMFF, come with their
// damage recorded in s; JPEG and PNG are walked here.
func checkIntact(src []byte, s source) error {
	err := s.damage
	switch s.Format {
	case JPEG:
		err = jpegIntact(src)
	case PNG:
		err = pngIntact(src)
	}
	if err != nil {
		return fmt.Errorf("%w: %s %v", ErrBadImage, s.Format, err)
	}
	return nil
}

var errTruncated = errors.New("is truncated")

// pngIntact walks the chunks from the signature to IEND, checking each
// checksum. Bytes after IEND are ignored, as decoders do.
func pngIntact(src []byte) error {
	const signature = 8
	for rest := src[min(signature, len(src)):]; ; {
		if len(rest) < 12 {
			return errTruncated
		}
		n := uint64(binary.BigEndian.Uint32(rest))
		if 12+n > uint64(len(rest)) {
			return errTruncated
		}
		typeAndData := rest[4 : 8+n]
		if crc32.ChecksumIEEE(typeAndData) != binary.BigEndian.Uint32(rest[8+n:]) {
			return fmt.Errorf("chunk %q is corrupt", typeAndData[:4])
		}
		if string(typeAndData[:4]) == "IEND" {
			return nil
		}
		rest = rest[12+n:]
	}
}

// jpegIntact walks the marker segments and entropy-coded scans from SOI to
// EOI. Bytes after EOI are ignored, as decoders do; so are stray bytes
// between segments, which libjpeg only warns about.
func jpegIntact(src []byte) error {
	const (
		sos = 0xDA
		eoi = 0xD9
	)
	p := 2 // past SOI
	for {
		next := bytes.IndexByte(src[min(p, len(src)):], 0xFF)
		if next < 0 || p+next+1 >= len(src) {
			return errTruncated
		}
		p += next
		marker := src[p+1]
		switch {
		case marker == 0xFF: // fill byte before a marker
			p++
			continue
		case marker == eoi:
			return nil
		case marker == 0x00, marker == 0x01, marker >= 0xD0 && marker <= 0xD8:
			// Stuffed byte, TEM, RSTn and SOI stand alone.
			p += 2
			continue
		}

		if p+4 > len(src) {
			return errTruncated
		}
		p += 2 + int(binary.BigEndian.Uint16(src[p+2:])) // the length counts itself
		if marker != sos {
			continue
		}
		// Skip the scan: its data ends at the first marker that is not a
		// stuffed 0xFF00 or a restart marker.
		for {
			next := bytes.IndexByte(src[min(p, len(src)):], 0xFF)
			if next < 0 || p+next+1 >= len(src) {
				return errTruncated
			}
			p += next
			if b := src[p+1]; b == 0x00 || b >= 0xD0 && b <= 0xD7 {
				p += 2
				continue
			}
			break
		}
	}
}
