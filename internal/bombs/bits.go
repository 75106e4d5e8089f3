// Package bombs forges the image files that cost a decoder far more than
// their headers admit, and files cut short: an AVIF whose 'ispe' claims
// less than its AV1 sequence header codes, an animated WebP of too many
// frames, a 16-bit RGBA interlaced PNG. It links only the standard
// library, so the soak can send what the tests refuse.
package bombs

// BitWriter writes most-significant-bit-first fields, as AV1 and HEVC
// headers are coded.
type BitWriter struct {
	b []byte
	n int // bits written
}

// Bits writes the low n bits of v.
func (w *BitWriter) Bits(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
}

// Flag writes one bit.
func (w *BitWriter) Flag(v bool) {
	if v {
		w.Bits(1, 1)
	} else {
		w.Bits(0, 1)
	}
}

// Golomb writes an Exp-Golomb code (HEVC's ue(v)).
func (w *BitWriter) Golomb(v uint32) {
	x := uint64(v) + 1
	n := 0
	for x>>n > 1 {
		n++
	}
	w.Bits(0, n)
	w.Bits(x, n+1)
}

// Trailing writes the stop bit, pads to a byte and returns the bytes.
func (w *BitWriter) Trailing() []byte {
	w.Bits(1, 1)
	for w.n%8 != 0 {
		w.Bits(0, 1)
	}
	return w.b
}
