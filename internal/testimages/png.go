package testimages

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
)

// PNGClaiming returns a PNG whose header claims w x h 8-bit RGBA pixels,
// with idat as its image data (none when nil): a decompression bomb's
// header, or a size limit's edge, without the pixels.
func PNGClaiming(w, h uint32, idat []byte) []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA, no interlace
	out = appendChunk(out, "IHDR", ihdr)
	if idat != nil {
		out = appendChunk(out, "IDAT", idat)
	}
	return appendChunk(out, "IEND", nil)
}

// PixelBomb is a PNG claiming 30000 x 30000 pixels over one compressed
// row of them: what a decoder must refuse from the header, before it
// allocates 3.6 GB.
func PixelBomb() []byte {
	const edge = 30000
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, err := zw.Write(make([]byte, 1+4*edge))
	must(err)
	must(zw.Close())
	return PNGClaiming(edge, edge, z.Bytes())
}

func appendChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}
