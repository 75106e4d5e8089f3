package resize

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"strings"
	"testing"

	"github.com/h2non/bimg"

	"github.com/avatarproxy/avatarproxy/internal/bombs"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// refusingPool returns a Resizer with limits that fails t if a source
// reaches its queue.
func refusingPool(t *testing.T, limits Limits) *Resizer {
	r := New(PoolConfig{Workers: 1, Limits: limits})
	r.hooks.queued = func() { t.Error("refused source reached the queue") }
	return r
}

// An AVIF or HEIF whose 'ispe' claims less than its coded image is refused
// for what libheif would decode, before a worker is taken.
func TestResizeRefusesCodedImageLargerThanClaimed(t *testing.T) {
	big := photo(512, 512)
	avif := convert(t, testimages.PNG(big), bimg.Options{Type: bimg.AVIF, Speed: 8})
	heif := convert(t, testimages.PNG(big), bimg.Options{Type: bimg.HEIF})
	claimSmall := func(src []byte) []byte { return withIspe(src, [2]uint32{512, 512}, [2]uint32{64, 64}) }

	limits := Limits{MaxSourcePixels: 100_000} // 64x64 passes, 512x512 does not
	for name, src := range map[string][]byte{"avif": claimSmall(avif), "heif": claimSmall(heif)} {
		info, err := Inspect(src)
		if name == "avif" && err == nil {
			t.Errorf("%s: Inspect accepted %+v", name, info)
		}
		_, _, err = refusingPool(t, limits).Resize(context.Background(), src, Options{Edge: 32})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", name, err)
		}
	}

	// Within the limits, an AVIF whose ispe disagrees is malformed.
	_, _, err := refusingPool(t, Limits{}).Resize(context.Background(), claimSmall(avif), Options{Edge: 32})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "ispe says 64x64, the coded image is 512x512") {
		t.Errorf("ispe smaller than the frame: %v, want ErrUnsupported naming both", err)
	}

	// The untouched files resize.
	for name, src := range map[string][]byte{"avif": avif, "heif": heif} {
		if _, _, err := New(PoolConfig{Workers: 1, Limits: Limits{MaxSourcePixels: 300_000}}).Resize(context.Background(), src, Options{Edge: 32}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Forged files: the coded size hidden where only a header parser finds it.
func TestResizeRefusesForgedCodedSizes(t *testing.T) {
	limits := Limits{MaxSourcePixels: 40_000_000}
	av1Data := append([]byte{obuTemporalDelim<<3 | 0x02, 0}, bombs.AV1SequenceHeader(8000, 8000, true)...)
	tiles := make([]itemAssociation, 0, 401)
	for id := range uint32(400) {
		tiles = append(tiles, item(id+1, 1, 2))
	}
	tiles = append(tiles, item(1000, 3))
	tooLarge := map[string][]byte{
		"hevc sps larger than ispe":   heifFile("heic", 1, ispe(1000, 1000), hvcC(8000, 8000), ipma(0, 0, item(1, 1, 2))),
		"av1 header larger than ispe": bombs.AVIF(1000, 8000),
		"av1 header only in the item data": withExtents(
			heifFile("avif", 1, ispe(1000, 1000), av1C(), ipma(0, 0, item(1, 1, 2))),
			[]uint16{1}, av1Data),
		"grid of 400 tiles of 512x512": heifFile("heic", 1000,
			ispe(512, 512), hvcC(512, 512), ispe(100, 100), ipma(1, 1, tiles...)),
	}
	for name, src := range tooLarge {
		if _, _, err := refusingPool(t, limits).Resize(context.Background(), src, Options{Edge: 32}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", name, err)
		}
	}

	unsupported := map[string]struct {
		src     []byte
		message string
	}{
		"av1 without a sequence header": {
			heifFile("avif", 1, ispe(64, 64), av1C(), ipma(0, 0, item(1, 1, 2))),
			"coded size of item 1 cannot be read",
		},
		"av1 headers that disagree": {
			withExtents(heifFile("avif", 1, ispe(1000, 1000), av1C(bombs.AV1SequenceHeader(1000, 1000, true)), ipma(0, 0, item(1, 1, 2))),
				[]uint16{1}, av1Data),
			"coded headers disagree",
		},
		"grid without coded tiles": {
			heifFile("heic", 2, ispe(64, 64), ipma(0, 0, item(2, 1))),
			"no coded image",
		},
	}
	for name, c := range unsupported {
		_, _, err := refusingPool(t, limits).Resize(context.Background(), c.src, Options{Edge: 32})
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.message) {
			t.Errorf("%s: %v, want ErrUnsupported saying %q", name, err, c.message)
		}
	}

	// A grid of 48 tiles, as cameras write, is accepted.
	tiles = tiles[:0]
	for id := range uint32(48) {
		tiles = append(tiles, item(id+1, 1, 2))
	}
	tiles = append(tiles, item(1000, 3))
	if _, err := refusingPool(t, limits).checkSource(heifFile("heic", 1000,
		ispe(512, 512), hvcC(512, 512), ispe(4032, 3024), ipma(1, 1, tiles...))); err != nil {
		t.Errorf("grid of 48 tiles: %v", err)
	}
}

func TestResizeAnimatedWebP(t *testing.T) {
	// Only the first frame is drawn.
	r := New(PoolConfig{Workers: 1})
	out, format, err := r.Resize(context.Background(), animatedWebP(t, 32, 32, red, blue, blue), Options{Edge: 16, Format: PNG})
	if err != nil {
		t.Fatal(err)
	}
	assertColor(t, decode(t, out), 8, 8, red, 2)
	if format != PNG {
		t.Errorf("format %s", format)
	}

	colours := make([]color.Color, MaxFrames+1)
	for i := range colours {
		colours[i] = red
	}
	over := animatedWebP(t, 8, 8, colours...)
	if info, err := Inspect(over); err != nil || info.Frames != MaxFrames+1 {
		t.Errorf("Inspect() = %+v, %v; want %d frames", info, err, MaxFrames+1)
	}
	if _, _, err := refusingPool(t, Limits{}).Resize(context.Background(), over, Options{Edge: 8}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d frames: %v, want ErrTooLarge", MaxFrames+1, err)
	}
	if _, _, err := r.Resize(context.Background(), animatedWebP(t, 8, 8, colours[:MaxFrames]...), Options{Edge: 8}); err != nil {
		t.Errorf("%d frames: %v", MaxFrames, err)
	}
}

// The decoded size counts bands and bytes per sample, not only pixels.
func TestResizeBoundsDecodedBytes(t *testing.T) {
	eight := testimages.PNG(photo(30, 30))                                // RGBA: 3600 bytes decoded
	sixteen := testimages.PNG(image.NewNRGBA64(image.Rect(0, 0, 30, 30))) // 7200 bytes
	r := refusingPool(t, Limits{MaxSourceDecodedBytes: 4000})
	if _, _, err := r.Resize(context.Background(), sixteen, Options{Edge: 16}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("16-bit RGBA: %v, want ErrTooLarge", err)
	}
	r.hooks.queued = nil
	if _, _, err := r.Resize(context.Background(), eight, Options{Edge: 16}); err != nil {
		t.Errorf("8-bit RGBA: %v", err)
	}

	// With the default limits, a 40 MP 8-bit RGBA PNG passes and a 16-bit
	// one of fewer pixels does not.
	defaults := refusingPool(t, Limits{MaxSourcePixels: 40_000_000, MaxSourceDecodedBytes: 160_000_000})
	for _, c := range []struct {
		w, h  uint32
		depth byte
		ok    bool
	}{{6324, 6324, 8, true}, {6300, 6300, 16, false}} {
		_, err := defaults.checkSource(pngHeaderDepth(c.w, c.h, c.depth))
		if c.ok != (err == nil) || (!c.ok && !errors.Is(err, ErrTooLarge)) {
			t.Errorf("%dx%d %d-bit RGBA: %v", c.w, c.h, c.depth, err)
		}
	}

	bands := map[string]struct {
		src                []byte
		bands, sampleBytes int
	}{
		"grey png":         {testimages.PNG(image.NewGray(image.Rect(0, 0, 4, 4))), 1, 1},
		"grey 16-bit png":  {testimages.PNG(image.NewGray16(image.Rect(0, 0, 4, 4))), 1, 2},
		"rgb png":          {pngWithType(2, false), 3, 1},
		"rgb png and tRNS": {pngWithType(2, true), 4, 1},
		"jpeg":             {testimages.JPEG(photo(8, 8), 95), 3, 1},
		"grey jpeg":        {testimages.JPEG(image.NewGray(image.Rect(0, 0, 8, 8)), 95), 1, 1},
		"gif":              {encodeGIF(t, 8, 8), 4, 1},
	}
	for name, c := range bands {
		s, err := inspect(c.src)
		if err != nil || s.bands != c.bands || s.sampleBytes != c.sampleBytes {
			t.Errorf("%s: %d bands of %d bytes, %v; want %d of %d", name, s.bands, s.sampleBytes, err, c.bands, c.sampleBytes)
		}
	}
}

// pngHeaderDepth returns a PNG whose IHDR claims w x h interlaced RGBA
// pixels of the given bit depth, with a token of image data.
func pngHeaderDepth(w, h uint32, depth byte) []byte {
	src := testimages.PNGClaiming(w, h, []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	src[8+8+8], src[8+8+12] = depth, 1
	return fixIHDRChecksum(src)
}

// pngWithType returns a 4x4 PNG header of the given colour type, with a
// tRNS chunk if asked.
func pngWithType(colourType byte, transparency bool) []byte {
	src := testimages.PNGClaiming(4, 4, nil)
	src[8+8+9] = colourType
	src = fixIHDRChecksum(src)
	if transparency {
		ihdrEnd := 8 + 12 + 13
		src = append(pngChunk(append([]byte{}, src[:ihdrEnd]...), "tRNS", []byte{0, 0, 0, 0, 0, 0}), src[ihdrEnd:]...)
	}
	return src
}

// pngChunk appends a PNG chunk with its checksum to b.
func pngChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(append(b, typ...), data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

func fixIHDRChecksum(src []byte) []byte {
	return append(pngChunk(append([]byte{}, src[:8]...), "IHDR", src[16:29]), src[33:]...)
}

// Every cut of these files is refused before a worker is taken.
func TestResizeRefusesEveryTruncation(t *testing.T) {
	var animation bytes.Buffer
	frame := func(c color.Color) *image.Paletted {
		m := image.NewPaletted(image.Rect(0, 0, 48, 48), color.Palette{red, blue, green, c})
		for i := range m.Pix {
			m.Pix[i] = uint8(i*7/5) % 4 // enough detail for several sub-blocks
		}
		return m
	}
	if err := gif.EncodeAll(&animation, &gif.GIF{Image: []*image.Paletted{frame(yellow), frame(gray)}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	source := testimages.PNG(photo(64, 48))
	files := map[string][]byte{
		"gif":  animation.Bytes(),
		"webp": convert(t, source, bimg.Options{Type: bimg.WEBP}),
		"avif": convert(t, source, bimg.Options{Type: bimg.AVIF, Speed: 8}),
		"heif": convert(t, source, bimg.Options{Type: bimg.HEIF}),
	}
	r := refusingPool(t, Limits{})
	for name, src := range files {
		for cut := 1; cut < len(src); cut++ {
			_, _, err := r.Resize(context.Background(), src[:cut], Options{Edge: 16})
			if !errors.Is(err, ErrBadImage) && !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s cut to %d of %d bytes: %v, want ErrBadImage", name, cut, len(src), err)
				break
			}
		}
		// Whole they resize; GIF and WebP also with bytes after their end.
		r.hooks.queued = nil
		wholes := [][]byte{src}
		if name == "gif" || name == "webp" {
			wholes = append(wholes, append(src[:len(src):len(src)], "trailer"...))
		}
		for _, whole := range wholes {
			if _, _, err := r.Resize(context.Background(), whole, Options{Edge: 16}); err != nil {
				t.Errorf("%s of %d bytes: %v", name, len(whole), err)
			}
		}
		r.hooks.queued = func() { t.Error("refused source reached the queue") }
	}
}

// A box cut short after 'meta' leaves the images readable, but the file
// is damaged all the same.
func TestResizeRefusesBoxPastTheEnd(t *testing.T) {
	src := convert(t, testimages.PNG(photo(64, 48)), bimg.Options{Type: bimg.AVIF, Speed: 8})
	damaged := append(src[:len(src):len(src)], isoBox("free", make([]byte, 8))...)
	damaged[len(src)+3] = 64 // claims 64 bytes, 16 present

	if _, err := Inspect(damaged); err != nil {
		t.Fatalf("Inspect: %v, want the header accepted", err)
	}
	_, err := refusingPool(t, Limits{}).checkSource(damaged)
	if !errors.Is(err, ErrBadImage) || !strings.Contains(err.Error(), `"free" box of 64 bytes does not fit in 16`) {
		t.Errorf("checkSource: %v, want ErrBadImage naming the free box", err)
	}
}
