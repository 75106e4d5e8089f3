package resize

import (
	"bytes"
	"encoding/binary"
	"image/color"
	"testing"

	"github.com/h2non/bimg"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// Generators of the codec headers and containers the bomb tests forge.

// bitWriter writes most-significant-bit-first fields.
type bitWriter struct {
	b []byte
	n int // bits written
}

func (w *bitWriter) bits(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
}

func (w *bitWriter) flag(v bool) {
	if v {
		w.bits(1, 1)
	} else {
		w.bits(0, 1)
	}
}

// golomb writes an Exp-Golomb code (HEVC's ue(v)).
func (w *bitWriter) golomb(v uint32) {
	x := uint64(v) + 1
	n := 0
	for x>>n > 1 {
		n++
	}
	w.bits(0, n)
	w.bits(x, n+1)
}

// trailing writes the stop bit and pads to a byte.
func (w *bitWriter) trailing() []byte {
	w.bits(1, 1)
	for w.n%8 != 0 {
		w.bits(0, 1)
	}
	return w.b
}

// av1SequenceHeader returns a sequence header OBU whose maximum frame is
// w x h. The full form carries timing, decoder model and two operating
// points; the reduced form is what still images usually carry.
func av1SequenceHeader(w, h uint32, reduced bool) []byte {
	var bw bitWriter
	bw.bits(0, 3) // seq_profile
	bw.flag(true) // still_picture
	bw.flag(reduced)
	if reduced {
		bw.bits(8, 5) // seq_level_idx[0]
	} else {
		bw.flag(true)       // timing_info_present_flag
		bw.bits(1, 32)      // num_units_in_display_tick
		bw.bits(30, 32)     // time_scale
		bw.flag(true)       // equal_picture_interval
		bw.bits(0b00100, 5) // num_ticks_per_picture_minus_1: uvlc 3
		bw.flag(true)       // decoder_model_info_present_flag
		bw.bits(4, 5)       // buffer_delay_length_minus_1
		bw.bits(1, 32)      // num_units_in_decoding_tick
		bw.bits(9, 5)       // buffer_removal_time_length_minus_1
		bw.bits(9, 5)       // frame_presentation_time_length_minus_1
		bw.flag(true)       // initial_display_delay_present_flag
		bw.bits(1, 5)       // operating_points_cnt_minus_1
		for _, level := range []uint64{8, 4} {
			bw.bits(0, 12)    // operating_point_idc
			bw.bits(level, 5) // seq_level_idx
			if level > 7 {
				bw.flag(false) // seq_tier
			}
			bw.flag(true)     // decoder_model_present_for_this_op
			bw.bits(0, 2*5+1) // decoder and encoder buffer delays, low delay
			bw.flag(true)     // initial_display_delay_present_for_this_op
			bw.bits(9, 4)     // initial_display_delay_minus_1
		}
	}
	bw.bits(15, 4) // frame_width_bits_minus_1
	bw.bits(15, 4) // frame_height_bits_minus_1
	bw.bits(uint64(w-1), 16)
	bw.bits(uint64(h-1), 16)
	payload := bw.trailing()
	return append([]byte{obuSequenceHeader<<3 | 0x02, byte(len(payload))}, payload...)
}

// av1C returns an AV1 codec configuration property holding obus.
func av1C(obus ...[]byte) []byte {
	return isoBox("av1C", []byte{0x81, 0x08, 0x0C, 0x00}, bytes.Join(obus, nil))
}

// spsNAL returns a sequence parameter set NAL unit for a w x h picture
// coded in 4:2:0, rounded up to 8 samples and cropped back by its
// conformance window, with emulation prevention bytes inserted.
func spsNAL(w, h uint32) []byte {
	codedW, codedH := (w+7)/8*8, (h+7)/8*8
	var bw bitWriter
	bw.bits(0, 4) // sps_video_parameter_set_id
	bw.bits(1, 3) // sps_max_sub_layers_minus1
	bw.flag(true) // sps_temporal_id_nesting_flag
	// profile_tier_level: Main profile, its zeros need escaping.
	bw.bits(0, 2)
	bw.bits(0, 1)
	bw.bits(1, 5)
	bw.bits(0x60000000, 32)
	bw.bits(0b1001, 4)
	bw.bits(0, 44)
	bw.bits(93, 8)              // general_level_idc
	bw.flag(true)               // sub_layer_profile_present_flag[0]
	bw.flag(true)               // sub_layer_level_present_flag[0]
	bw.bits(0, 2*(8-1))         // reserved_zero_2bits
	bw.bits(0, 88)              // sub-layer profile
	bw.bits(90, 8)              // sub-layer level
	bw.golomb(0)                // sps_seq_parameter_set_id
	bw.golomb(1)                // chroma_format_idc: 4:2:0
	bw.golomb(codedW)           // pic_width_in_luma_samples
	bw.golomb(codedH)           // pic_height_in_luma_samples
	bw.flag(true)               // conformance_window_flag
	bw.golomb(0)                // left
	bw.golomb((codedW - w) / 2) // right, in chroma samples
	bw.golomb(0)                // top
	bw.golomb((codedH - h) / 2) // bottom
	bw.golomb(0)                // bit_depth_luma_minus8
	bw.golomb(0)                // bit_depth_chroma_minus8
	rbsp := bw.trailing()

	nal := []byte{naluSPS << 1, 0x01}
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			nal, zeros = append(nal, 3), 0
		}
		nal = append(nal, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return nal
}

// hvcC returns an HEVC codec configuration property holding an SPS for a
// w x h picture, whose NAL units have 4-byte lengths.
func hvcC(w, h uint32) []byte {
	sps := spsNAL(w, h)
	b := make([]byte, 23)
	b[0] = 1
	b[16], b[17], b[18] = 0xFD, 0xF8, 0xF8 // 4:2:0, 8 bits
	b[21] = 0x0F                           // lengthSizeMinusOne 3
	b[22] = 1                              // one array
	b = append(b, 0x80|naluSPS, 0, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	return isoBox("hvcC", append(b, sps...))
}

// withExtents returns file with 'iloc' and 'mdat' boxes added: the data of
// each item is one extent holding the corresponding payload.
func withExtents(file []byte, items []uint16, payloads ...[]byte) []byte {
	metaAt := bytes.Index(file, []byte("meta")) - 4
	ilocSize := 8 + 8 + len(items)*(2+2+2+4+4)
	mdatAt := len(file) + ilocSize
	iloc := []byte{0, 0, 0, 0, 0x44, 0x00} // version 0, 4-byte offsets and lengths
	iloc = binary.BigEndian.AppendUint16(iloc, uint16(len(items)))
	offset := mdatAt + 8
	for i, id := range items {
		iloc = binary.BigEndian.AppendUint16(iloc, id)
		iloc = binary.BigEndian.AppendUint16(iloc, 0) // data_reference_index
		iloc = binary.BigEndian.AppendUint16(iloc, 1) // one extent
		iloc = binary.BigEndian.AppendUint32(iloc, uint32(offset))
		iloc = binary.BigEndian.AppendUint32(iloc, uint32(len(payloads[i])))
		offset += len(payloads[i])
	}
	out := append([]byte{}, file...)
	out = append(out, isoBox("iloc", iloc)...)
	metaSize := binary.BigEndian.Uint32(out[metaAt:])
	binary.BigEndian.PutUint32(out[metaAt:], metaSize+uint32(ilocSize))
	return append(out, isoBox("mdat", payloads...)...)
}

// withIspe returns a copy of an AVIF or HEIF file whose every 'ispe'
// property sized from x from claims to be to.
func withIspe(src []byte, from, to [2]uint32) []byte {
	out := append([]byte{}, src...)
	want := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, from[0]), from[1])
	for i := 0; ; {
		at := bytes.Index(out[i:], []byte("ispe"))
		if at < 0 {
			return out
		}
		p := i + at + 8 // past the type, version and flags
		if bytes.Equal(out[p:p+8], want) {
			binary.BigEndian.PutUint32(out[p:], to[0])
			binary.BigEndian.PutUint32(out[p+4:], to[1])
		}
		i = p
	}
}

// vp8lFrame returns the VP8L chunk of a lossless w x h WebP of colour c.
func vp8lFrame(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	webp := convert(t, testimages.PNG(testimages.Solid(w, h, c)), bimg.Options{Type: bimg.WEBP, Lossless: true})
	for rest := webp[12:]; len(rest) >= 8; {
		size := int(binary.LittleEndian.Uint32(rest[4:]))
		if string(rest[:4]) == "VP8L" {
			return rest[:8+size+size&1]
		}
		rest = rest[8+size+size&1:]
	}
	t.Fatal("libvips wrote no VP8L chunk")
	return nil
}

// animatedWebP returns a w x h animated WebP whose frames are the given
// colours, in order.
func animatedWebP(t testing.TB, w, h int, colours ...color.Color) []byte {
	t.Helper()
	frames := map[color.Color][]byte{}
	chunk := func(typ string, payload ...[]byte) []byte {
		body := bytes.Join(payload, nil)
		b := binary.LittleEndian.AppendUint32([]byte(typ), uint32(len(body)))
		b = append(b, body...)
		if len(body)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	uint24 := func(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16)} }

	vp8x := append([]byte{0x12, 0, 0, 0}, append(uint24(w-1), uint24(h-1)...)...) // animation, alpha
	body := [][]byte{[]byte("WEBP"), chunk("VP8X", vp8x), chunk("ANIM", []byte{0, 0, 0, 0, 0, 0})}
	for _, c := range colours {
		if frames[c] == nil {
			frames[c] = vp8lFrame(t, w, h, c)
		}
		header := bytes.Join([][]byte{uint24(0), uint24(0), uint24(w - 1), uint24(h - 1), uint24(100), {0}}, nil)
		body = append(body, chunk("ANMF", header, frames[c]))
	}
	return chunk("RIFF", body...)
}
