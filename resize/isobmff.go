package resize

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file reads just enough of an ISO base media file (ISO/IEC 14496-12)
// to tell AVIF from HEIF and find its 'meta' box; heif.go reads the images
// it describes. Every length is checked against the bytes actually
// present, and nothing is allocated in proportion to a length the file
// claims.

// isISOBMFF reports whether src starts with a file type box.
func isISOBMFF(src []byte) bool {
	return len(src) >= 8 && string(src[4:8]) == "ftyp"
}

func inspectISOBMFF(src []byte) (source, error) {
	top := boxReader{b: src}
	ftyp, _ := top.next()
	if top.err != nil {
		return source{}, fmt.Errorf("%w: isobmff header: %v", ErrUnsupported, top.err)
	}
	format, err := brandFormat(ftyp.data)
	if err != nil {
		return source{}, err
	}

	meta, found := top.find("meta")
	if top.err != nil {
		return source{}, fmt.Errorf("%w: %s header: %v", ErrUnsupported, format, top.err)
	}
	if !found {
		return source{}, fmt.Errorf("%w: %s without a meta box", ErrUnsupported, format)
	}

	s, err := metaImages(meta, src)
	if err != nil {
		return source{}, fmt.Errorf("%w: %s header: %v", ErrUnsupported, format, err)
	}
	s.Format = format
	if s.malformed != nil {
		s.malformed = fmt.Errorf("%w: %s header: %v", ErrUnsupported, format, s.malformed)
	}
	// Every top-level box must fit in src; a damaged one after 'meta'
	// leaves the images readable but the file cut short. It is named
	// before damaged item data.
	for _, ok := top.next(); ok; _, ok = top.next() {
	}
	if top.err != nil {
		s.damage = fmt.Errorf("%w: %v", errTruncated, top.err)
	}
	return s, nil
}

// brandFormat maps the brands of a file type box to a format. It accepts
// the major brands libvips is asked to load (see bimg's type sniffing), so
// that Inspect never accepts what the pipeline would refuse.
func brandFormat(ftyp []byte) (Format, error) {
	if len(ftyp) < 8 || len(ftyp)%4 != 0 {
		return "", fmt.Errorf("%w: malformed isobmff file type box", ErrUnsupported)
	}
	major := string(ftyp[:4])
	switch major {
	case "avif":
		return AVIF, nil
	case "heic", "heis", "hevc":
		return HEIF, nil
	case "mif1", "msf1":
		for compatible := ftyp[8:]; len(compatible) > 0; compatible = compatible[4:] {
			if string(compatible[:4]) == "avif" {
				return AVIF, nil
			}
		}
		return HEIF, nil
	}
	return "", fmt.Errorf("%w: isobmff brand %q is not accepted", ErrUnsupported, major)
}

func parseIspe(b []byte) (width, height uint32, err error) {
	if len(b) < 12 {
		return 0, 0, errors.New("malformed ispe box")
	}
	return binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:]), nil
}

// box is an ISO base media box: its four-character type and its payload.
type box struct {
	typ  [4]byte
	data []byte
}

func (b box) is(typ string) bool { return string(b.typ[:]) == typ }

// boxReader walks the boxes packed one after another in b.
type boxReader struct {
	b   []byte
	err error
}

// next returns the next box, or false at the end of b or on a malformed
// box, which sets r.err.
func (r *boxReader) next() (box, bool) {
	if len(r.b) == 0 || r.err != nil {
		return box{}, false
	}
	if len(r.b) < 8 {
		r.err = errors.New("truncated box header")
		return box{}, false
	}
	size, header := uint64(binary.BigEndian.Uint32(r.b)), uint64(8)
	typ := [4]byte(r.b[4:8])
	switch size {
	case 0: // the box extends to the end of its container
		size = uint64(len(r.b))
	case 1: // a 64-bit size follows the type
		if len(r.b) < 16 {
			r.err = errors.New("truncated box header")
			return box{}, false
		}
		size, header = binary.BigEndian.Uint64(r.b[8:]), 16
	}
	if size < header || size > uint64(len(r.b)) {
		r.err = fmt.Errorf("%q box of %d bytes does not fit in %d", string(typ[:]), size, len(r.b))
		return box{}, false
	}
	b := box{typ: typ, data: r.b[header:size]}
	r.b = r.b[size:]
	return b, true
}

// find returns the payload of the next box of type typ.
func (r *boxReader) find(typ string) ([]byte, bool) {
	for b, ok := r.next(); ok; b, ok = r.next() {
		if b.is(typ) {
			return b.data, true
		}
	}
	return nil, false
}
