package resize

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"

	"github.com/h2non/bimg"
	"golang.org/x/image/tiff"
)

// The pipeline runs in three bimg calls with an uncompressed TIFF between
// them, because one call cannot do everything right:
//
//   - geometry decodes, converts to sRGB and scales so the short side is
//     the edge, cropping to the square unless an attention crop still has
//     to choose where. It leaves orientation alone: bimg rotates a JPEG by
//     re-encoding it without its ICC profile before shrink-on-load. And
//     when bimg reloads a JPEG with shrink-on-load its rounding can leave
//     the square a pixel short.
//   - orient applies the EXIF orientation with libvips' autorot, on the
//     small intermediate, whose TIFF header carries it.
//   - finish crops (or, after such rounding, rescales a pixel and crops) to
//     exactly edge x edge, flattens alpha for JPEG, strips metadata and
//     encodes.
//
// The attention crop also runs faster on the decoded intermediate than on
// bimg's lazily scaled source, which it would read several times over.

const (
	// attentionMaxAspect bounds how elongated a source may be for the
	// attention crop, whose cost grows with the area it analyses; past it
	// the centre is used.
	attentionMaxAspect = 3

	// avifSpeed is heifsave's speed as bimg passes it (libvips 8.14:
	// 0..9, where effort = 9 - speed). bimg sends 0, the slowest, unless
	// told otherwise; 8 encodes a 256 px avatar in about 15 ms instead of
	// about 100 ms, and 9, faster still, makes files half as large again.
	avifSpeed = 8
)

var white = bimg.Color{R: 255, G: 255, B: 255}

// process resizes src, whose header Inspect read into info. The caller
// holds a worker.
func process(src []byte, info Info, opt Options) ([]byte, Format, error) {
	square, err := geometry(src, info, opt)
	if err != nil {
		return nil, "", err
	}
	if square, err = orient(square); err != nil {
		return nil, "", err
	}

	format := opt.Format
	if format == "" {
		if format, err = family(square); err != nil {
			return nil, "", err
		}
	}

	out, err := finish(square, opt, format)
	if err != nil {
		return nil, "", err
	}
	// A wrong size would be served and cached for good; refuse it instead.
	got, err := Inspect(out)
	if err != nil {
		return nil, "", fmt.Errorf("resize: read output: %w", err)
	}
	if want := (Info{Format: format, Width: opt.Edge, Height: opt.Edge, Frames: 1}); got != want {
		return nil, "", fmt.Errorf("resize: libvips made %s %dx%d, want %dx%d", got.Format, got.Width, got.Height, want.Width, want.Height)
	}
	return out, format, nil
}

// geometry is the first step: it decodes src and returns an uncompressed
// sRGB TIFF whose short side is opt.Edge, alpha and orientation kept.
func geometry(src []byte, info Info, opt Options) ([]byte, error) {
	o := bimg.Options{
		Width:   opt.Edge,
		Height:  opt.Edge,
		Crop:    true,
		Enlarge: true,
		// Enlarging samples past the last row and column: repeat them
		// rather than fade the edges to black.
		Extend:       bimg.ExtendCopy,
		NoAutoRotate: true, // see orient above
		// Convert from an embedded ICC profile, not merely relabel.
		OutputICC: "srgb",
		Type:      bimg.TIFF,
	}
	if opt.Attention {
		long, short := max(info.Width, info.Height), min(info.Width, info.Height)
		if long <= attentionMaxAspect*short {
			// Fit inside long' x long' instead: the short side comes out
			// as the edge and nothing is cropped yet.
			side := int(math.Round(float64(long) * float64(opt.Edge) / float64(short)))
			o.Width, o.Height, o.Crop = side, side, false
		}
	}

	out, err := bimg.Resize(src, o)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadImage, vipsReason(err))
	}
	return out, nil
}

// orient is the second step: libvips' autorot applies the orientation in
// the intermediate's header. libvips set it from the EXIF data when it
// loaded the source, and to 1 for HEIF, whose own rotation and mirroring
// libheif applies while decoding.
func orient(square []byte) ([]byte, error) {
	out, err := bimg.NewImage(square).AutoRotate()
	if err != nil {
		return nil, fmt.Errorf("resize: orient: %s", vipsReason(err))
	}
	return out, nil
}

// family picks the output format of a source's own family from the
// intermediate: PNG when it has an alpha channel, JPEG otherwise.
func family(square []byte) (Format, error) {
	cfg, err := tiff.DecodeConfig(bytes.NewReader(square))
	if err != nil {
		return "", fmt.Errorf("resize: read intermediate: %w", err)
	}
	// libvips writes alpha as unassociated, which x/image/tiff reports as
	// non-premultiplied; opaque sRGB comes back as RGBA.
	if cfg.ColorModel == color.NRGBAModel {
		return PNG, nil
	}
	return JPEG, nil
}

// finish is the third step: it makes the intermediate exactly
// opt.Edge x opt.Edge and encodes it as format without metadata.
func finish(square []byte, opt Options, format Format) ([]byte, error) {
	quality := opt.Quality
	if quality == 0 {
		quality = DefaultQuality
	}
	o := bimg.Options{
		Width:         opt.Edge,
		Height:        opt.Edge,
		Crop:          true,
		Enlarge:       true,
		Extend:        bimg.ExtendCopy,
		NoAutoRotate:  true, // done already
		StripMetadata: true,
		Quality:       quality,
	}
	if opt.Attention {
		o.Gravity = bimg.GravitySmart
	}
	switch format {
	case JPEG:
		o.Type = bimg.JPEG
		o.Background = white // bimg flattens only images with alpha
	case PNG:
		o.Type = bimg.PNG
	case WebP:
		o.Type = bimg.WEBP
	case AVIF:
		o.Type = bimg.AVIF
		o.Speed = avifSpeed
	}

	out, err := bimg.Resize(square, o)
	if err != nil {
		return nil, fmt.Errorf("resize: encode %s: %s", format, vipsReason(err))
	}
	if format == WebP {
		if out, err = stripWebP(out); err != nil {
			return nil, fmt.Errorf("resize: encode webp: %w", err)
		}
	}
	return out, nil
}

// vipsReason shortens a libvips error, which can run to many lines of
// loader detail, to its first line.
func vipsReason(err error) string {
	const maxLen = 120
	reason, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	if len(reason) > maxLen {
		reason = strings.ToValidUTF8(reason[:maxLen], "") + "..."
	}
	if reason == "" {
		return "libvips failed without a reason"
	}
	return reason
}
