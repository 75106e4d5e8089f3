package bombs

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// RGBA16PNG returns a w x h transparent black PNG of 16-bit RGBA samples,
// Adam7-interlaced, so that a decoder must hold it whole: 8 bytes a pixel.
func RGBA16PNG(w, h int) []byte {
	var idat bytes.Buffer
	z, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed) // a valid level cannot fail
	// Each pass's rows: a filter byte and 8 bytes a pixel, all zero.
	passes := [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	var raw int64
	for _, p := range passes {
		cols := (w - p[0] + p[2] - 1) / p[2]
		rows := (h - p[1] + p[3] - 1) / p[3]
		if cols > 0 && rows > 0 {
			raw += int64(rows) * int64(1+8*cols)
		}
	}
	io.Copy(z, io.LimitReader(zeroReader{}, raw)) // writes to memory do not fail
	z.Close()

	out := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		start := len(out)
		out = append(append(out, typ...), data...)
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, 16, 6, 0, 0, 1)) // 16-bit RGBA, interlaced
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
