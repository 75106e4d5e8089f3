package resize

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file reads just enough of an ISO base media file (ISO/IEC 14496-12)
// to tell AVIF from HEIF and learn the primary image's size from its 'ispe'
// property (ISO/IEC 23008-12). Every length is checked against the bytes
// actually present, and nothing is allocated in proportion to a length the
// file claims.

// isISOBMFF reports whether src starts with a file type box.
func isISOBMFF(src []byte) bool {
	return len(src) >= 8 && string(src[4:8]) == "ftyp"
}

func inspectISOBMFF(src []byte) (Info, error) {
	top := boxReader{b: src}
	ftyp, _ := top.next()
	if top.err != nil {
		return Info{}, fmt.Errorf("%w: isobmff header: %v", ErrUnsupported, top.err)
	}
	format, err := brandFormat(ftyp.data)
	if err != nil {
		return Info{}, err
	}

	meta, found := top.find("meta")
	if top.err != nil {
		return Info{}, fmt.Errorf("%w: %s header: %v", ErrUnsupported, format, top.err)
	}
	if !found {
		return Info{}, fmt.Errorf("%w: %s without a meta box", ErrUnsupported, format)
	}

	w, h, err := primaryImageSize(meta)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %s header: %v", ErrUnsupported, format, err)
	}
	return Info{Format: format, Width: w, Height: h}, nil
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

// maxProperties bounds item property indices: 'ipma' stores them in at most
// 15 bits.
const maxProperties = 1 << 15

// primaryImageSize returns the 'ispe' of the primary item of a 'meta' box.
func primaryImageSize(meta []byte) (width, height int, err error) {
	if len(meta) < 4 {
		return 0, 0, errors.New("truncated meta box")
	}
	children := meta[4:] // past the full box version and flags
	pitmReader, iprpReader := boxReader{b: children}, boxReader{b: children}
	pitm, havePitm := pitmReader.find("pitm")
	iprp, haveIprp := iprpReader.find("iprp")
	if err := errors.Join(pitmReader.err, iprpReader.err); err != nil {
		return 0, 0, err
	}
	if !havePitm || !haveIprp {
		return 0, 0, errors.New("no primary item or no item properties")
	}
	primary, err := parsePitm(pitm)
	if err != nil {
		return 0, 0, err
	}

	// Property indices are 1-based positions of boxes in 'ipco'; 'ipma'
	// boxes list which of them belong to which item.
	var ipco []byte
	var associated [maxProperties / 64]uint64
	properties := boxReader{b: iprp}
	for b, ok := properties.next(); ok; b, ok = properties.next() {
		switch {
		case b.is("ipco"):
			ipco = b.data
		case b.is("ipma"):
			if err := markAssociations(b.data, primary, &associated); err != nil {
				return 0, 0, err
			}
		}
	}
	if properties.err != nil {
		return 0, 0, properties.err
	}

	container := boxReader{b: ipco}
	for index := 1; index < maxProperties; index++ {
		b, ok := container.next()
		if !ok {
			break
		}
		if b.is("ispe") && associated[index/64]&(1<<(index%64)) != 0 {
			return parseIspe(b.data)
		}
	}
	if container.err != nil {
		return 0, 0, container.err
	}
	return 0, 0, errors.New("primary item has no size")
}

func parsePitm(b []byte) (uint32, error) {
	switch {
	case len(b) >= 6 && b[0] == 0:
		return uint32(binary.BigEndian.Uint16(b[4:])), nil
	case len(b) >= 8 && b[0] != 0:
		return binary.BigEndian.Uint32(b[4:]), nil
	}
	return 0, errors.New("malformed pitm box")
}

// markAssociations sets in set the indices of the properties that an 'ipma'
// box associates with item.
func markAssociations(b []byte, item uint32, set *[maxProperties / 64]uint64) error {
	malformed := errors.New("malformed ipma box")
	if len(b) < 8 {
		return malformed
	}
	version, wideIndex := b[0], b[3]&1 != 0
	count := binary.BigEndian.Uint32(b[4:])
	b = b[8:]

	for range count {
		var id uint32
		if version < 1 {
			if len(b) < 2 {
				return malformed
			}
			id, b = uint32(binary.BigEndian.Uint16(b)), b[2:]
		} else {
			if len(b) < 4 {
				return malformed
			}
			id, b = binary.BigEndian.Uint32(b), b[4:]
		}

		if len(b) < 1 {
			return malformed
		}
		n := int(b[0])
		b = b[1:]
		size := 1
		if wideIndex {
			size = 2
		}
		if len(b) < n*size {
			return malformed
		}
		if id == item {
			for i := range n {
				var index int
				if wideIndex {
					index = int(binary.BigEndian.Uint16(b[2*i:]) & 0x7fff) // top bit: essential
				} else {
					index = int(b[i] & 0x7f)
				}
				set[index/64] |= 1 << (index % 64)
			}
		}
		b = b[n*size:]
	}
	return nil
}

func parseIspe(b []byte) (width, height int, err error) {
	if len(b) < 12 {
		return 0, 0, errors.New("malformed ispe box")
	}
	return int(binary.BigEndian.Uint32(b[4:])), int(binary.BigEndian.Uint32(b[8:])), nil
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
