package resize

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/h2non/bimg"

	"github.com/avatarproxy/avatarproxy/internal/bombs"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

var update = flag.Bool("update", false, "rewrite the FuzzInspect seed corpus in testdata")

func TestInspect(t *testing.T) {
	png := testimages.PNG(photo(12, 8))
	cases := map[string]struct {
		src  []byte
		want Info
	}{
		"jpeg": {testimages.JPEG(photo(12, 8), 95), Info{JPEG, 12, 8, 1}},
		"png":  {png, Info{PNG, 12, 8, 1}},
		"gif":  {encodeGIF(t, 12, 8), Info{GIF, 12, 8, 1}},
		"gif with a frame overflowing its screen": {overflowingGIF(t, 300, 200), Info{GIF, 300, 200, 1}},
		"webp": {convert(t, png, bimg.Options{Type: bimg.WEBP}), Info{WebP, 12, 8, 1}},
		"avif": {convert(t, png, bimg.Options{Type: bimg.AVIF, Speed: 8}), Info{AVIF, 12, 8, 1}},
		"heif": {convert(t, png, bimg.Options{Type: bimg.HEIF}), Info{HEIF, 12, 8, 1}},
		"grid heif": {
			heifFile("heic", 2, // primary item 2, a grid whose tiles are item 1
				ispe(512, 512), ispe(4032, 3024), hvcC(512, 512), ipma(0, 0, item(1, 1, 3), item(2, 2))),
			Info{HEIF, 4032, 3024, 1},
		},
		"avif compatible brand, wide ipma v1": {
			heifFile("mif1", 70000, ispe(640, 480), av1C(bombs.AV1SequenceHeader(640, 480, false)), ipma(1, 1, item(70000, 1, 2))),
			Info{AVIF, 640, 480, 1},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Inspect(c.src)
			if err != nil || got != c.want {
				t.Errorf("Inspect() = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestInspectRefuses(t *testing.T) {
	png := testimages.PNG(photo(12, 8))
	avif := convert(t, png, bimg.Options{Type: bimg.AVIF, Speed: 8})
	cases := map[string]struct {
		src     []byte
		message string
	}{
		"empty":         {nil, "empty"},
		"svg":           {[]byte("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), "svg is not accepted"},
		"html":          {[]byte("<!doctype html><title>404</title>"), "html is not accepted"},
		"text":          {[]byte("no avatar here"), "text is not accepted"},
		"pdf":           {[]byte("%PDF-1.7\n..."), "application/pdf is not accepted"},
		"tiff":          {convert(t, png, bimg.Options{Type: bimg.TIFF}), "tiff is not accepted"},
		"bmp":           {append([]byte("BM"), make([]byte, 64)...), "image/bmp is not accepted"},
		"binary":        {[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "unknown data is not accepted"},
		"truncated png": {png[:20], "png header"},
		"zero-size gif": {encodeGIF(t, 0, 0), "gif of 0x0"},
		"truncated jpeg": {
			testimages.JPEG(photo(12, 8), 95)[:30], "jpeg header",
		},
		"truncated avif":  {avif[:60], "avif header"},
		"animated avif":   {heifFile("avis", 1, ispe(8, 8), ipma(0, 0, item(1, 1))), `brand "avis"`},
		"mp4":             {heifFile("isom", 1, ispe(8, 8), ipma(0, 0, item(1, 1))), `brand "isom"`},
		"heif no meta":    {isoBox("ftyp", []byte("heic\x00\x00\x00\x00mif1")), "without a meta box"},
		"heif no size":    {heifFile("heic", 1, ispe(8, 8), ipma(0, 0, item(2, 1))), "no size"},
		"heif zero size":  {heifFile("heic", 1, ispe(0, 8), hvcC(8, 8), ipma(0, 0, item(1, 1, 2))), "heif of 0x8"},
		"heif short ipma": {heifFile("heic", 1, ispe(8, 8), isoBox("ipma", []byte{0, 0, 0})), "malformed ipma"},
		"box overrun": {
			append(isoBox("ftyp", []byte("avif\x00\x00\x00\x00")), 0xFF, 0, 0, 0, 'm', 'e', 't', 'a'),
			"does not fit",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			info, err := Inspect(c.src)
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Inspect() = %+v, %v; want ErrUnsupported", info, err)
			}
			if !strings.Contains(err.Error(), c.message) {
				t.Errorf("error %q does not say %q", err, c.message)
			}
		})
	}
}

func TestInspectAllocatesLittle(t *testing.T) {
	// Headers that claim far more than they hold, and a valid file with a
	// great many boxes.
	many := isoBox("ftyp", []byte("avif\x00\x00\x00\x00"))
	for range 100_000 {
		many = append(many, isoBox("free", nil)...)
	}
	valid := heifFile("avif", 1, ispe(8, 8), av1C(bombs.AV1SequenceHeader(8, 8, true)), ipma(0, 0, item(1, 1, 2)))
	many = append(many, valid[binary.BigEndian.Uint32(valid):]...) // its meta box
	inputs := map[string][]byte{
		"png 30000x30000": testimages.PNGClaiming(30000, 30000, nil),
		"huge ipma count": heifFile("avif", 1, ispe(8, 8), []byte{0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}),
		"huge largesize":  append(isoBox("ftyp", []byte("avif\x00\x00\x00\x00")), 0, 0, 0, 1, 'm', 'e', 't', 'a', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF),
		"many boxes":      many,
	}
	if info, err := Inspect(many); err != nil || info.Width != 8 {
		t.Fatalf("many boxes: %+v, %v", info, err)
	}
	for name, src := range inputs {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 10 {
			Inspect(src)
		}
		runtime.ReadMemStats(&after)
		if perCall := (after.TotalAlloc - before.TotalAlloc) / 10; perCall > 64<<10 {
			t.Errorf("%s: Inspect allocated %d bytes a call", name, perCall)
		}
	}
}

// FuzzInspect also runs checkIntact, which walks what Inspect accepts.
func FuzzInspect(f *testing.F) {
	f.Fuzz(func(t *testing.T, src []byte) {
		info, err := Inspect(src)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v does not wrap ErrUnsupported", err)
			}
			return
		}
		if info.Format == "" || info.Width <= 0 || info.Height <= 0 {
			t.Fatalf("Inspect() = %+v without error", info)
		}
		s, err := inspect(src)
		if err != nil {
			t.Fatalf("inspect: %v after Inspect accepted the source", err)
		}
		if err := checkIntact(src, s); err != nil && !errors.Is(err, ErrBadImage) {
			t.Fatalf("checkIntact: error %v does not wrap ErrBadImage", err)
		}
	})
}

// TestFuzzSeeds keeps the seed corpus in testdata/fuzz/FuzzInspect in step
// with the inputs below; run with -update to rewrite it.
func TestFuzzSeeds(t *testing.T) {
	png := testimages.PNG(photo(12, 8))
	seeds := map[string][]byte{
		"png":          png,
		"jpeg":         testimages.JPEG(photo(12, 8), 95),
		"gif":          encodeGIF(t, 12, 8),
		"gif-overflow": overflowingGIF(t, 30, 20),
		"webp":         convert(t, png, bimg.Options{Type: bimg.WEBP}),
		"webp-alph":    convert(t, testimages.PNG(testimages.Solid(4, 4, clear)), bimg.Options{Type: bimg.WEBP}),
		"avif":         convert(t, png, bimg.Options{Type: bimg.AVIF, Speed: 8}),
		"heic":         convert(t, png, bimg.Options{Type: bimg.HEIF}),
		"heif-grid":    heifFile("heic", 2, ispe(512, 512), ispe(4032, 3024), hvcC(512, 512), ipma(0, 0, item(1, 1, 3), item(2, 2))),
		"avif-wide":    heifFile("mif1", 70000, ispe(640, 480), av1C(bombs.AV1SequenceHeader(640, 480, false)), ipma(1, 1, item(70000, 1, 2))),
		"png-huge":     testimages.PNGClaiming(30000, 30000, nil),
		"avif-av1-in-data": withExtents(heifFile("avif", 1, ispe(640, 480), av1C(), ipma(0, 0, item(1, 1, 2))),
			[]uint16{1}, append([]byte{obuTemporalDelim<<3 | 0x02, 0}, bombs.AV1SequenceHeader(640, 480, false)...)),
		"heic-hvcc":     heifFile("heic", 1, ispe(1000, 750), hvcC(1000, 750), ipma(0, 0, item(1, 1, 2))),
		"webp-animated": animatedWebP(t, 8, 8, red, blue),
		"gif-animated":  twoFrameGIF(),
		"svg":           []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>`),
		"html":          []byte("<!DOCTYPE html><html></html>"),
		"empty":         {},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzInspect")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, src := range seeds {
			corpus := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", src)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(corpus), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Encoders may change their exact bytes between versions; only the
	// set of seeds must match.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var have, want []string
	for _, e := range entries {
		have = append(have, e.Name())
	}
	for name := range seeds {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("seed corpus has %v, want %v; run go test -run TestFuzzSeeds -update", have, want)
	}
}

func encodeGIF(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	m := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{red, blue})
	if err := gif.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// isoBox returns an ISO base media box.
func isoBox(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(b, typ...), body...)
}

// heifFile returns a HEIF file of the given major brand with one 'meta'
// box naming primary as its primary item and holding the given properties
// and associations.
func heifFile(brand string, primary uint32, propertiesThenIpma ...[]byte) []byte {
	properties := propertiesThenIpma[:len(propertiesThenIpma)-1]
	ipmaBox := propertiesThenIpma[len(propertiesThenIpma)-1]
	pitm := isoBox("pitm", binary.BigEndian.AppendUint32([]byte{1, 0, 0, 0}, primary))
	iprp := isoBox("iprp", isoBox("ipco", properties...), ipmaBox)
	return append(
		isoBox("ftyp", []byte(brand+"\x00\x00\x00\x00mif1avif")),
		isoBox("meta", []byte{0, 0, 0, 0}, pitm, iprp)...,
	)
}

func ispe(w, h uint32) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0}, w)
	return isoBox("ispe", binary.BigEndian.AppendUint32(b, h))
}

// itemAssociation is an ipma entry: an item and its property indices.
type itemAssociation struct {
	id      uint32
	indices []uint16
}

func item(id uint32, indices ...uint16) itemAssociation { return itemAssociation{id, indices} }

// ipma returns an item property association box; version 1 has 32-bit
// item ids and flags 1 has 15-bit property indices.
func ipma(version, flags byte, items ...itemAssociation) []byte {
	b := []byte{version, 0, 0, flags}
	b = binary.BigEndian.AppendUint32(b, uint32(len(items)))
	for _, it := range items {
		if version == 0 {
			b = binary.BigEndian.AppendUint16(b, uint16(it.id))
		} else {
			b = binary.BigEndian.AppendUint32(b, it.id)
		}
		b = append(b, byte(len(it.indices)))
		for _, index := range it.indices {
			if flags&1 != 0 {
				b = binary.BigEndian.AppendUint16(b, 0x8000|index) // essential
			} else {
				b = append(b, 0x80|byte(index))
			}
		}
	}
	return isoBox("ipma", b)
}

func TestInspectCountsGIFFrames(t *testing.T) {
	for _, n := range []int{1, 2, 50} {
		info, err := Inspect(testimages.ManyFrames(n, 4))
		if err != nil || info.Frames != n {
			t.Errorf("%d-frame GIF: %+v, %v", n, info, err)
		}
	}
	r := New(PoolConfig{Workers: 1})
	if _, _, err := r.Resize(context.Background(), testimages.ManyFrames(MaxFrames+1, 4), Options{Edge: 8}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d frames: %v, want ErrTooLarge", MaxFrames+1, err)
	}
	if _, _, err := r.Resize(context.Background(), testimages.ManyFrames(3, 4), Options{Edge: 8}); err != nil {
		t.Errorf("3 frames: %v", err)
	}
}
