package resize

import (
	"bytes"
	"encoding/binary"
	"image/color"
	"testing"

	"github.com/h2non/bimg"

	"github.com/avatarproxy/avatarproxy/internal/bombs"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// Generators of the codec headers and containers the bomb tests forge.

// av1C returns an AV1 codec configuration property holding obus.
func av1C(obus ...[]byte) []byte {
	return isoBox("av1C", []byte{0x81, 0x08, 0x0C, 0x00}, bytes.Join(obus, nil))
}

// spsNAL returns a sequence parameter set NAL unit for a w x h picture
// coded in 4:2:0, rounded up to 8 samples and cropped back by its
// conformance window, with emulation prevention bytes inserted.
func spsNAL(w, h uint32) []byte {
	codedW, codedH := (w+7)/8*8, (h+7)/8*8
	var bw bombs.BitWriter
	bw.Bits(0, 4) // sps_video_parameter_set_id
	bw.Bits(1, 3) // sps_max_sub_layers_minus1
	bw.Flag(true) // sps_temporal_id_nesting_flag
	// profile_tier_level: Main profile, its zeros need escaping.
	bw.Bits(0, 2)
	bw.Bits(0, 1)
	bw.Bits(1, 5)
	bw.Bits(0x60000000, 32)
	bw.Bits(0b1001, 4)
	bw.Bits(0, 44)
	bw.Bits(93, 8)              // general_level_idc
	bw.Flag(true)               // sub_layer_profile_present_flag[0]
	bw.Flag(true)               // sub_layer_level_present_flag[0]
	bw.Bits(0, 2*(8-1))         // reserved_zero_2bits
	bw.Bits(0, 88)              // sub-layer profile
	bw.Bits(90, 8)              // sub-layer level
	bw.Golomb(0)                // sps_seq_parameter_set_id
	bw.Golomb(1)                // chroma_format_idc: 4:2:0
	bw.Golomb(codedW)           // pic_width_in_luma_samples
	bw.Golomb(codedH)           // pic_height_in_luma_samples
	bw.Flag(true)               // conformance_window_flag
	bw.Golomb(0)                // left
	bw.Golomb((codedW - w) / 2) // right, in chroma samples
	bw.Golomb(0)                // top
	bw.Golomb((codedH - h) / 2) // bottom
	bw.Golomb(0)                // bit_depth_luma_minus8
	bw.Golomb(0)                // bit_depth_chroma_minus8
	rbsp := bw.Trailing()

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
	made := map[color.Color][]byte{}
	frames := make([][]byte, len(colours))
	for i, c := range colours {
		if made[c] == nil {
			made[c] = vp8lFrame(t, w, h, c)
		}
		frames[i] = made[c]
	}
	return bombs.AnimatedWebP(w, h, frames...)
}
