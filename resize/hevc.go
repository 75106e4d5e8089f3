package resize

import (
	"errors"
	"fmt"
)

// This file reads the picture size an HEVC image item decodes to: the
// pic_width_in_luma_samples and pic_height_in_luma_samples of its sequence
// parameter sets (H.265, 7.3.2.2), less the conformance window. The SPS is
// found in the 'hvcC' property and, possibly, in the item's data; the
// decoder is given both.

const naluSPS = 33 // nal_unit_type of a sequence parameter set

// hevcConfig reads an 'hvcC' property (ISO/IEC 14496-15, 8.3.3): the bytes
// per sample its bit depth needs, the length of the NAL unit size fields
// in the item's data, and the size in every SPS it holds.
func hevcConfig(b []byte) (c codedImage, lengthSize int, err error) {
	malformed := errors.New("malformed hvcC box")
	if len(b) < 23 {
		return codedImage{}, 0, malformed
	}
	c.sampleBytes = 1
	if b[17]&7 > 0 || b[18]&7 > 0 { // bit depth minus 8, luma and chroma
		c.sampleBytes = 2
	}
	lengthSize = int(b[21]&3) + 1
	arrays := int(b[22])
	r := fieldReader{b: b[23:]}
	for range arrays {
		typ, count := r.uint(1)&0x3F, r.uint(2)
		if r.err != nil {
			return codedImage{}, 0, malformed
		}
		for range count {
			nal := r.bytes(r.uint(2))
			if r.err != nil {
				return codedImage{}, 0, malformed
			}
			if typ == naluSPS {
				f, err := hevcPictureSize(nal)
				if err != nil {
					return codedImage{}, 0, err
				}
				if err := c.frame(f); err != nil {
					return codedImage{}, 0, err
				}
			}
		}
	}
	return c, lengthSize, nil
}

// hevcSequenceParameterSets calls found with the picture size of every SPS
// among the NAL units of data, each preceded by its length in lengthSize
// bytes. A unit that runs past the end of data ends the walk: the decoder
// cannot use it either, and checkIntact reports the truncation.
func hevcSequenceParameterSets(data []byte, lengthSize int, found func(frameSize) error) error {
	r := fieldReader{b: data}
	for {
		nal := r.bytes(r.uint(lengthSize))
		if r.err != nil {
			return nil
		}
		if len(nal) < 2 || nal[0]>>1&0x3F != naluSPS {
			continue
		}
		f, err := hevcPictureSize(nal)
		if err != nil {
			return err
		}
		if err := found(f); err != nil {
			return err
		}
	}
}

// hevcPictureSize parses an SPS NAL unit, its two-byte header included, as
// far as its conformance window: the decoder allocates the whole coded
// picture and outputs the part inside the window.
func hevcPictureSize(nal []byte) (frameSize, error) {
	if len(nal) < 2 {
		return frameSize{}, errors.New("hevc sps: too short")
	}
	r := bitReader{b: nal[2:], unescape: true}
	r.skip(4) // sps_video_parameter_set_id
	subLayers := int(r.bits(3))
	r.skip(1) // sps_temporal_id_nesting_flag

	// profile_tier_level(1, subLayers)
	r.skip(2 + 1 + 5 + 32 + 4 + 43 + 1 + 8) // general profile, flags, level
	profilePresent, levelPresent := make([]bool, 0, 8), make([]bool, 0, 8)
	for range subLayers {
		profilePresent = append(profilePresent, r.flag())
		levelPresent = append(levelPresent, r.flag())
	}
	if subLayers > 0 {
		r.skip(2 * (8 - subLayers)) // reserved_zero_2bits
	}
	for i := range subLayers {
		if profilePresent[i] {
			r.skip(88)
		}
		if levelPresent[i] {
			r.skip(8)
		}
	}

	r.golomb() // sps_seq_parameter_set_id
	chroma := r.golomb()
	if chroma > 3 {
		return frameSize{}, fmt.Errorf("hevc sps: chroma_format_idc %d", chroma)
	}
	if chroma == 3 && r.flag() { // separate_colour_plane_flag
		chroma = 0
	}
	width, height := r.golomb(), r.golomb()
	var left, right, top, bottom uint32
	if r.flag() { // conformance_window_flag
		left, right, top, bottom = r.golomb(), r.golomb(), r.golomb(), r.golomb()
	}
	if r.err != nil {
		return frameSize{}, fmt.Errorf("hevc sps: %w", r.err)
	}

	// Window offsets count chroma samples.
	subWidth, subHeight := uint64(1), uint64(1)
	if chroma == 1 || chroma == 2 {
		subWidth = 2
	}
	if chroma == 1 {
		subHeight = 2
	}
	cropX := subWidth * (uint64(left) + uint64(right))
	cropY := subHeight * (uint64(top) + uint64(bottom))
	if cropX >= uint64(width) || cropY >= uint64(height) {
		return frameSize{}, fmt.Errorf("hevc sps: conformance window leaves no picture of %dx%d", width, height)
	}
	return frameSize{
		width: width - uint32(cropX), height: height - uint32(cropY),
		decoded: uint64(width) * uint64(height),
	}, nil
}
