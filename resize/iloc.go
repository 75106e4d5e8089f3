package resize

import (
	"encoding/binary"
	"errors"
	"math"
)

// Item data lies where an item location box ('iloc', ISO/IEC 14496-12,
// 8.11.3) says: extents of the file, or of the 'idat' box.
const (
	inFile = 0
	inIdat = 1
)

// itemExtents calls fn with every extent of every item of an 'iloc' box,
// its base offset added. A length of 0 means the rest of the file or
// 'idat'.
func itemExtents(iloc []byte, fn func(item uint32, method byte, offset, length uint64) error) error {
	malformed := errors.New("malformed iloc box")
	r := fieldReader{b: iloc}
	version := r.uint(1)
	if version > 2 {
		return malformed
	}
	r.uint(3) // flags
	sizes := r.uint(2)
	offsetSize, lengthSize := int(sizes>>12), int(sizes>>8&0xF)
	baseSize, indexSize := int(sizes>>4&0xF), int(sizes&0xF)
	if version < 1 {
		indexSize = 0 // reserved
	}
	for _, n := range []int{offsetSize, lengthSize, baseSize, indexSize} {
		if n != 0 && n != 4 && n != 8 {
			return malformed
		}
	}
	idSize := 2
	if version >= 2 {
		idSize = 4
	}
	count := r.uint(idSize)
	for range count {
		if r.err != nil {
			break
		}
		id := uint32(r.uint(idSize))
		var method byte
		if version >= 1 {
			method = byte(r.uint(2) & 0xF)
		}
		r.uint(2) // data_reference_index
		base := r.uint(baseSize)
		extents := r.uint(2)
		for range extents {
			r.uint(indexSize)
			offset, length := r.uint(offsetSize), r.uint(lengthSize)
			if r.err != nil {
				break
			}
			if offset > math.MaxUint64-base {
				return malformed
			}
			if err := fn(id, method, base+offset, length); err != nil {
				return err
			}
		}
	}
	if r.err != nil {
		return malformed
	}
	return nil
}

// extent returns the bytes of an extent within b, cut short where b ends.
func extent(b []byte, offset, length uint64) []byte {
	if offset >= uint64(len(b)) {
		return nil
	}
	b = b[offset:]
	if length != 0 && length < uint64(len(b)) {
		b = b[:length]
	}
	return b
}

// fieldReader reads big-endian fields; reading past the end sets err and
// yields zeros.
type fieldReader struct {
	b   []byte
	err error
}

// uint reads an n-byte unsigned number, n at most 8.
func (r *fieldReader) uint(n int) uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < n {
		r.err = errors.New("field past the end")
		return 0
	}
	var buf [8]byte
	copy(buf[8-n:], r.b[:n])
	r.b = r.b[n:]
	return binary.BigEndian.Uint64(buf[:])
}

// bytes returns the next n bytes.
func (r *fieldReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errors.New("field past the end")
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}
