package resize

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file reads the largest frame an AV1 image item can decode to: the
// max_frame_width and max_frame_height of its sequence header OBU (AV1
// bitstream specification, 5.5), which every frame header must stay within.
// The header is found in the 'av1C' property's configOBUs and at the start
// of the item's data; the decoder is given both.

const (
	obuSequenceHeader = 1
	obuTemporalDelim  = 2
)

// av1Config reads an 'av1C' property (AV1-ISOBMFF 2.3): the bytes per
// sample its bit depth needs, and the sequence header in its configOBUs,
// if any.
func av1Config(b []byte) (codedImage, error) {
	if len(b) < 4 || b[0] != 0x81 { // marker and version 1
		return codedImage{}, errors.New("malformed av1C box")
	}
	c := codedImage{sampleBytes: 1}
	if b[2]&0x40 != 0 { // high_bitdepth
		c.sampleBytes = 2
	}
	err := av1SequenceHeaders(b[4:], c.frame)
	return c, err
}

// av1SequenceHeaders calls found with the maximum frame size of every
// sequence header OBU in data, a series of OBUs. An OBU that runs past the
// end of data ends the walk: the decoder cannot use it either, and
// checkIntact reports the truncation.
func av1SequenceHeaders(data []byte, found func(frameSize) error) error {
	for len(data) > 0 {
		header := data[0]
		if header&0x80 != 0 {
			return errors.New("av1 obu forbidden bit set")
		}
		typ, extension, hasSize := header>>3&0xF, header&0x04 != 0, header&0x02 != 0
		p := 1
		if extension {
			p++
		}
		size := uint64(len(data)) - uint64(min(p, len(data)))
		if hasSize {
			// OBU sizes are unsigned LEB128, as Uvarint reads them, of at
			// most 8 bytes.
			field := data[min(p, len(data)):]
			n, used := binary.Uvarint(field[:min(len(field), 8)])
			if used <= 0 {
				return nil // cut short
			}
			size, p = n, p+used
		}
		if p > len(data) || size > uint64(len(data)-p) {
			return nil // cut short
		}
		payload := data[p : p+int(size)]
		data = data[p+int(size):]
		if typ != obuSequenceHeader {
			continue
		}
		f, err := av1FrameSize(payload)
		if err != nil {
			return err
		}
		if err := found(f); err != nil {
			return err
		}
	}
	return nil
}

// av1FrameSize parses a sequence header OBU's payload as far as its
// maximum frame size.
func av1FrameSize(payload []byte) (frameSize, error) {
	r := bitReader{b: payload}
	r.skip(3)     // seq_profile
	r.skip(1)     // still_picture
	if r.flag() { // reduced_still_picture_header
		r.skip(5) // seq_level_idx[0]
	} else {
		decoderModel, bufferDelayBits := false, 0
		if r.flag() { // timing_info_present_flag
			r.skip(32 + 32) // num_units_in_display_tick, time_scale
			if r.flag() {   // equal_picture_interval
				r.golomb() // num_ticks_per_picture_minus_1
			}
			if decoderModel = r.flag(); decoderModel {
				bufferDelayBits = int(r.bits(5)) + 1
				r.skip(32 + 5 + 5) // num_units_in_decoding_tick, two lengths
			}
		}
		initialDisplayDelay := r.flag()
		points := int(r.bits(5)) + 1
		for range points {
			r.skip(12)         // operating_point_idc
			if r.bits(5) > 7 { // seq_level_idx
				r.skip(1) // seq_tier
			}
			if decoderModel && r.flag() { // decoder_model_present_for_this_op
				r.skip(2*bufferDelayBits + 1)
			}
			if initialDisplayDelay && r.flag() {
				r.skip(4)
			}
		}
	}
	widthBits, heightBits := int(r.bits(4))+1, int(r.bits(4))+1
	// At most 16 bits each: no overflow.
	width, height := uint64(r.bits(widthBits))+1, uint64(r.bits(heightBits))+1
	if r.err != nil {
		return frameSize{}, fmt.Errorf("av1 sequence header: %w", r.err)
	}
	return frameSize{width: uint32(width), height: uint32(height), decoded: width * height}, nil
}
