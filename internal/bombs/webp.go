package bombs

import (
	"bytes"
	"encoding/binary"
)

// AnimatedWebP returns a w x h animated WebP whose frames are the given
// image chunks ("VP8 " or "VP8L", header included), in order, each
// covering the whole canvas for 100 ms.
func AnimatedWebP(w, h int, frames ...[]byte) []byte {
	vp8x := append([]byte{0x12, 0, 0, 0}, append(uint24(w-1), uint24(h-1)...)...) // animation, alpha
	body := [][]byte{[]byte("WEBP"), riffChunk("VP8X", vp8x), riffChunk("ANIM", make([]byte, 6))}
	header := bytes.Join([][]byte{uint24(0), uint24(0), uint24(w - 1), uint24(h - 1), uint24(100), {0}}, nil)
	for _, f := range frames {
		body = append(body, riffChunk("ANMF", header, f))
	}
	return riffChunk("RIFF", body...)
}

// VP8LHeader returns a VP8L chunk holding only the header of a lossless
// w x h image with alpha: enough for a container walk, not for a decoder.
func VP8LHeader(w, h int) []byte {
	bits := uint32(w-1) | uint32(h-1)<<14 | 1<<28 // alpha_is_used; version 0
	return riffChunk("VP8L", binary.LittleEndian.AppendUint32([]byte{0x2f}, bits))
}

// riffChunk returns a RIFF chunk, padded to even length.
func riffChunk(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	b := binary.LittleEndian.AppendUint32([]byte(typ), uint32(len(body)))
	if b = append(b, body...); len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func uint24(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16)} }
