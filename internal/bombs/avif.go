package bombs

import (
	"bytes"
	"encoding/binary"
)

// obuSequenceHeader is the AV1 OBU type of a sequence header.
const obuSequenceHeader = 1

// AV1SequenceHeader returns a sequence header OBU whose maximum frame is
// w x h. The full form carries timing, decoder model and two operating
// points; the reduced form is what still images usually carry.
func AV1SequenceHeader(w, h uint32, reduced bool) []byte {
	var bw BitWriter
	bw.Bits(0, 3) // seq_profile
	bw.Flag(true) // still_picture
	bw.Flag(reduced)
	if reduced {
		bw.Bits(8, 5) // seq_level_idx[0]
	} else {
		bw.Flag(true)       // timing_info_present_flag
		bw.Bits(1, 32)      // num_units_in_display_tick
		bw.Bits(30, 32)     // time_scale
		bw.Flag(true)       // equal_picture_interval
		bw.Bits(0b00100, 5) // num_ticks_per_picture_minus_1: uvlc 3
		bw.Flag(true)       // decoder_model_info_present_flag
		bw.Bits(4, 5)       // buffer_delay_length_minus_1
		bw.Bits(1, 32)      // num_units_in_decoding_tick
		bw.Bits(9, 5)       // buffer_removal_time_length_minus_1
		bw.Bits(9, 5)       // frame_presentation_time_length_minus_1
		bw.Flag(true)       // initial_display_delay_present_flag
		bw.Bits(1, 5)       // operating_points_cnt_minus_1
		for _, level := range []uint64{8, 4} {
			bw.Bits(0, 12)    // operating_point_idc
			bw.Bits(level, 5) // seq_level_idx
			if level > 7 {
				bw.Flag(false) // seq_tier
			}
			bw.Flag(true)     // decoder_model_present_for_this_op
			bw.Bits(0, 2*5+1) // decoder and encoder buffer delays, low delay
			bw.Flag(true)     // initial_display_delay_present_for_this_op
			bw.Bits(9, 4)     // initial_display_delay_minus_1
		}
	}
	bw.Bits(15, 4) // frame_width_bits_minus_1
	bw.Bits(15, 4) // frame_height_bits_minus_1
	bw.Bits(uint64(w-1), 16)
	bw.Bits(uint64(h-1), 16)
	payload := bw.Trailing()
	return append([]byte{obuSequenceHeader<<3 | 0x02, byte(len(payload))}, payload...)
}

// AVIF returns an AVIF whose one item, the primary, claims claimed x
// claimed pixels in its 'ispe' while its 'av1C' holds a full sequence
// header coding coded x coded. It has no coded frame: a decoder is
// expected to refuse it from its headers.
func AVIF(claimed, coded uint32) []byte {
	ispe := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, claimed), claimed)
	av1C := isoBox("av1C", []byte{0x81, 0x08, 0x0C, 0x00}, AV1SequenceHeader(coded, coded, false))
	ipma := []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2, 0x81, 0x82} // item 1: properties 1 and 2, essential
	return append(
		isoBox("ftyp", []byte("avif\x00\x00\x00\x00mif1avif")),
		isoBox("meta", []byte{0, 0, 0, 0},
			isoBox("pitm", []byte{0, 0, 0, 0, 0, 1}),
			isoBox("iprp", isoBox("ipco", isoBox("ispe", ispe), av1C), isoBox("ipma", ipma)))...,
	)
}

// isoBox returns an ISO base media box.
func isoBox(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(b, typ...), body...)
}
