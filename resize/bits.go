package resize

import "errors"

var errShortBits = errors.New("header ends early")

// bitReader reads the most-significant-bit-first fields of AV1 and HEVC
// headers. Reading past the end sets err and yields zeros, so a parser
// checks err once at the end.
type bitReader struct {
	b   []byte
	pos int // in bits
	err error

	// unescape drops HEVC's emulation prevention bytes: a 0x03 following
	// two zero bytes is not part of the payload.
	unescape bool
	zeros    int // zero bytes just read, for unescape
}

// bit returns the next bit.
func (r *bitReader) bit() uint32 {
	if r.err != nil {
		return 0
	}
	if r.pos%8 == 0 && r.unescape {
		i := r.pos / 8
		if i < len(r.b) && r.zeros >= 2 && r.b[i] == 3 {
			r.pos += 8
			r.zeros = 0
		}
	}
	i := r.pos / 8
	if i >= len(r.b) {
		r.err = errShortBits
		return 0
	}
	v := uint32(r.b[i]>>(7-r.pos%8)) & 1
	r.pos++
	if r.pos%8 == 0 {
		if r.b[i] == 0 {
			r.zeros++
		} else {
			r.zeros = 0
		}
	}
	return v
}

// bits returns the next n bits, n at most 32, as an unsigned number.
func (r *bitReader) bits(n int) uint32 {
	var v uint32
	for range n {
		v = v<<1 | r.bit()
	}
	return v
}

// skip passes over n bits.
func (r *bitReader) skip(n int) {
	for range n {
		r.bit()
	}
}

// flag reads one bit as a boolean.
func (r *bitReader) flag() bool { return r.bit() == 1 }

// golomb reads an Exp-Golomb code: HEVC's ue(v) and, with one added,
// AV1's uvlc(). Codes of 32 leading zeros or more do not fit 32 bits and
// set err.
func (r *bitReader) golomb() uint32 {
	zeros := 0
	for r.bit() == 0 {
		if r.err != nil {
			return 0
		}
		if zeros++; zeros >= 32 {
			r.err = errors.New("exp-golomb code out of range")
			return 0
		}
	}
	return 1<<zeros - 1 + r.bits(zeros)
}
