package resize

/*
#include <glib.h>
#include "pipeline.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"

	// Registers TIFF with image.DecodeConfig, so that Inspect names a TIFF
	// source when it refuses one.
	_ "golang.org/x/image/tiff"
)

// One cgo call, avp_resize in pipeline.c, runs the whole resize in libvips:
// shrink-on-load, resize so that the short side is the edge, crop at the
// centre or the attention point, EXIF orientation, conversion from an
// embedded profile to sRGB, flattening onto white for JPEG, and encoding
// without metadata. Nothing is encoded between the steps.

const (
	// attentionMaxAspect bounds how elongated a source may be for the
	// attention crop, whose cost grows with the area it analyses; past it
	// the centre is used.
	attentionMaxAspect = 3

	// avifEffort is heifsave's effort (libvips 8.14: 0..9, 4 by default).
	// 1 encodes a 256 px avatar in about 15 ms instead of about 100 ms at
	// 9; 0, faster still, makes files half as large again.
	avifEffort = 1
)

var (
	sourceFormats = map[Format]C.int{
		JPEG: C.AVP_SOURCE_JPEG, PNG: C.AVP_SOURCE_PNG, WebP: C.AVP_SOURCE_WEBP,
		GIF: C.AVP_SOURCE_GIF, HEIF: C.AVP_SOURCE_HEIF, AVIF: C.AVP_SOURCE_HEIF,
	}
	outputFormats = map[Format]C.int{JPEG: C.AVP_JPEG, PNG: C.AVP_PNG, WebP: C.AVP_WEBP, AVIF: C.AVP_AVIF}
)

// process resizes src, whose header Inspect read into info. The caller
// holds a worker.
func process(src []byte, info Info, opt Options) ([]byte, Format, error) {
	out, format, err := run(src, info, opt)
	if err != nil {
		return nil, "", err
	}
	if format == WebP {
		if out, err = stripWebP(out); err != nil {
			return nil, "", fmt.Errorf("resize: encode webp: %w", err)
		}
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

// run calls the libvips pipeline and returns the encoded output and its
// format.
func run(src []byte, info Info, opt Options) ([]byte, Format, error) {
	source, ok := sourceFormats[info.Format]
	if !ok || len(src) == 0 {
		return nil, "", fmt.Errorf("%w: cannot load %s", ErrUnsupported, info.Format)
	}
	quality := opt.Quality
	if quality == 0 {
		quality = DefaultQuality
	}
	long, short := max(info.Width, info.Height), min(info.Width, info.Height)
	copt := C.avp_options{
		source:      source,
		width:       C.int(info.Width),
		height:      C.int(info.Height),
		edge:        C.int(opt.Edge),
		attention:   cBool(opt.Attention && long <= attentionMaxAspect*short),
		format:      C.AVP_FAMILY,
		quality:     C.int(quality),
		avif_effort: avifEffort,
	}
	if opt.Format != "" {
		copt.format = outputFormats[opt.Format]
	}

	var (
		out    C.avp_output
		reason *C.char
	)
	// libvips reads src only while the call runs (the loaders are
	// sequential and the square is copied to memory before encoding), so
	// the Go memory is passed as it is.
	status := C.avp_resize(unsafe.Pointer(&src[0]), C.size_t(len(src)), &copt, &out, &reason)
	format := outputFormat(out.format)
	if status != C.AVP_OK {
		why := vipsReason(C.GoString(reason))
		C.g_free(C.gpointer(reason))
		if status == C.AVP_FAILED_DECODE {
			return nil, "", fmt.Errorf("%w: %s", ErrBadImage, why)
		}
		return nil, "", fmt.Errorf("resize: encode %s: %s", format, why)
	}
	encoded := C.GoBytes(out.buf, C.int(out.len))
	C.g_free(C.gpointer(out.buf))
	return encoded, format, nil
}

// outputFormat names the format avp_resize wrote.
func outputFormat(c C.int) Format {
	for f, fc := range outputFormats {
		if fc == c {
			return f
		}
	}
	return Format(fmt.Sprint("format ", c))
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// vipsReason shortens a libvips error, which can run to many lines of
// loader detail, to its first line.
func vipsReason(message string) string {
	const maxLen = 120
	reason, _, _ := strings.Cut(strings.TrimSpace(message), "\n")
	if len(reason) > maxLen {
		reason = strings.ToValidUTF8(reason[:maxLen], "") + "..."
	}
	if reason == "" {
		return "libvips failed without a reason"
	}
	return reason
}
