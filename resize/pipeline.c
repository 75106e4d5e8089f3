// The resize pipeline, in one pass of libvips with nothing encoded between
// steps: load with shrink-on-load, convert to the sRGB (or grey) processing
// space, resize so that the short side is the edge, crop the square, decode
// it into memory, apply the EXIF orientation, convert from an embedded
// profile to sRGB, and encode without metadata.
//
// This is what libvips' vips_thumbnail does, reordered and leaner:
// thumbnail holds the whole resized image in memory before it crops (for a
// 2000x7 source and a 1024 px avatar, a 292571x1024 intermediate), reads
// the header twice and shrinks JPEGs less on load; on real avatars it took
// about a fifth more CPU. Here the loader is the one Inspect named, and the
// shrink-on-load comes from the size Inspect read.

#include <string.h>
#include <vips/vips.h>

#include "pipeline.h"

// then finishes one step: on failure it releases im and returns NULL,
// otherwise it releases im and returns the step's output *next.
static VipsImage *then(VipsImage *im, int failed, VipsImage **next) {
	g_object_unref(im);
	return failed ? NULL : *next;
}

// block_shrink is the largest JPEG shrink-on-load factor that keeps the
// short side at least the edge. libjpeg's scaled decode is far cheaper than
// decoding in full and resizing, and the resize that follows smooths it.
static int block_shrink(double shrink) {
	return shrink >= 8 ? 8 : shrink >= 4 ? 4 : shrink >= 2 ? 2 : 1;
}

// load decodes the first frame of buf lazily, shrunk on load where the
// format allows.
static VipsImage *load(const void *buf, size_t len, const avp_options *opt) {
	VipsImage *im = NULL;
	double shrink = (double) VIPS_MIN(opt->width, opt->height) / opt->edge;
	void *b = (void *) buf; // libvips' loaders take it non-const but only read it
	int failed;
	switch (opt->source) {
	case AVP_SOURCE_JPEG:
		failed = vips_jpegload_buffer(b, len, &im, "access", VIPS_ACCESS_SEQUENTIAL,
			"shrink", block_shrink(shrink), NULL);
		break;
	case AVP_SOURCE_PNG:
		failed = vips_pngload_buffer(b, len, &im, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
		break;
	case AVP_SOURCE_WEBP:
		// libwebp scales while it decodes; never up.
		failed = vips_webpload_buffer(b, len, &im, "access", VIPS_ACCESS_SEQUENTIAL,
			"scale", shrink > 1 ? 1 / shrink : 1.0, NULL);
		break;
	case AVP_SOURCE_GIF:
		failed = vips_gifload_buffer(b, len, &im, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
		break;
	case AVP_SOURCE_HEIF:
		failed = vips_heifload_buffer(b, len, &im, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
		break;
	default:
		vips_error("avatarproxy", "unknown source format %d", opt->source);
		failed = -1;
	}
	return failed ? NULL : im;
}

// scale converts im to 8-bit sRGB, or grey, and resizes it so that its
// short side is edge (vips_resize rounds to the target size, so it is
// never a pixel short), with alpha premultiplied while it is resampled.
// CMYK is converted with its embedded profile, or libvips' default one.
static VipsImage *scale(VipsImage *im, int edge) {
	VipsImage *next;
	VipsInterpretation space = im->Bands < 3 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB;
	if ((im->Type != space || im->BandFmt != VIPS_FORMAT_UCHAR) &&
		!(im = then(im, vips_colourspace(im, &next, space, NULL), &next))) {
		return NULL;
	}
	if (im->BandFmt != VIPS_FORMAT_UCHAR &&
		!(im = then(im, vips_cast(im, &next, VIPS_FORMAT_UCHAR, "shift", TRUE, NULL), &next))) {
		return NULL;
	}
	double factor = (double) edge / VIPS_MIN(im->Xsize, im->Ysize);
	if (factor == 1.0) {
		return im;
	}
	if (!vips_image_hasalpha(im)) {
		return then(im, vips_resize(im, &next, factor, NULL), &next);
	}
	// Premultiplied, so that the colour of invisible pixels does not bleed
	// into the edges. vips_premultiply works in float, which makes sources
	// with alpha slower to resize than opaque ones, as in libvips' own
	// thumbnail; an 8-bit shortcut coarsens faint pixels and makes WebP
	// and AVIF files larger.
	if (!(im = then(im, vips_premultiply(im, &next, NULL), &next)) ||
		!(im = then(im, vips_resize(im, &next, factor, NULL), &next)) ||
		!(im = then(im, vips_unpremultiply(im, &next, NULL), &next))) {
		return NULL;
	}
	return then(im, vips_cast(im, &next, VIPS_FORMAT_UCHAR, NULL), &next);
}

// crop cuts the edge x edge square out of im, which covers it, and
// returns it decoded into memory. Only the rows and columns the square
// needs are computed, however long the resized image.
static VipsImage *crop(VipsImage *im, int edge, int attention) {
	VipsImage *next;
	if (attention) {
		// The attention crop reads the image more than once.
		VipsImage *memory = vips_image_copy_memory(im);
		g_object_unref(im);
		if (!memory) {
			return NULL;
		}
		im = then(memory, vips_smartcrop(memory, &next, edge, edge, "interesting", VIPS_INTERESTING_ATTENTION, NULL), &next);
	} else {
		im = then(im, vips_crop(im, &next, (im->Xsize - edge) / 2, (im->Ysize - edge) / 2, edge, edge, NULL), &next);
	}
	if (!im) {
		return NULL;
	}
	// Decoding ends here: a damaged source fails now, not in the encoder,
	// and the rotation below needs the pixels at hand.
	next = vips_image_copy_memory(im);
	g_object_unref(im);
	return next;
}

// orient applies the EXIF orientation the loader recorded. libheif applies
// HEIF's own rotation and mirroring itself, and libvips records 1.
static VipsImage *orient(VipsImage *im) {
	VipsImage *next;
	int orientation;
	if (!vips_image_get_typeof(im, VIPS_META_ORIENTATION) ||
		vips_image_get_int(im, VIPS_META_ORIENTATION, &orientation) ||
		orientation == 1) {
		return im; // saves autorot's copy
	}
	return then(im, vips_autorot(im, &next, NULL), &next);
}

// profile_matches reports whether the ICC profile attached to im describes
// pixels like im's. A CMYK source's profile stays attached after scale has
// converted the pixels with it, and no longer applies.
static gboolean profile_matches(VipsImage *im) {
	const void *data;
	size_t len;
	if (vips_image_get_blob(im, VIPS_META_ICC_NAME, &data, &len) || len < 20) {
		return FALSE;
	}
	const char *space = (const char *) data + 16; // the data colour space
	int colours = im->Bands - (vips_image_hasalpha(im) ? 1 : 0);
	return (colours == 3 && memcmp(space, "RGB ", 4) == 0) ||
	       (colours == 1 && memcmp(space, "GRAY", 4) == 0);
}

// to_srgb converts im from its embedded profile to sRGB, on the small
// square. A profile lcms cannot read is ignored, as browsers ignore it,
// rather than losing the avatar.
static VipsImage *to_srgb(VipsImage *im) {
	VipsImage *next;
	if (!vips_image_get_typeof(im, VIPS_META_ICC_NAME) || !profile_matches(im)) {
		return im;
	}
	if (vips_icc_transform(im, &next, "srgb", "embedded", TRUE, NULL)) {
		vips_error_clear();
		return im;
	}
	g_object_unref(im);
	return next;
}

// decode makes the oriented sRGB square. Cropping before rotating keeps
// the resize lazy; the centre is the same either way, and the attention
// point is found in the same pixels. It returns a new reference, or NULL
// with libvips' error set.
static VipsImage *decode(const void *buf, size_t len, const avp_options *opt) {
	VipsImage *im;
	if (!(im = load(buf, len, opt)) ||
		!(im = scale(im, opt->edge)) ||
		!(im = crop(im, opt->edge, opt->attention)) ||
		!(im = orient(im))) {
		return NULL;
	}
	return to_srgb(im);
}

// flatten puts im's alpha, if any, onto white.
static VipsImage *flatten(VipsImage *im) {
	VipsImage *next;
	if (!vips_image_hasalpha(im)) {
		return im;
	}
	VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
	int failed = vips_flatten(im, &next, "background", white, NULL);
	vips_area_unref(VIPS_AREA(white));
	return then(im, failed, &next);
}

// encode writes im as format, without metadata, to out. It takes over
// the reference to im.
static int encode(VipsImage *im, int format, const avp_options *opt, avp_output *out) {
	int failed;
	out->format = format;
	switch (format) {
	case AVP_JPEG:
		if (!(im = flatten(im))) {
			return -1;
		}
		failed = vips_jpegsave_buffer(im, &out->buf, &out->len,
			"Q", opt->quality, "optimize_coding", TRUE, "strip", TRUE, NULL);
		break;
	case AVP_PNG:
		failed = vips_pngsave_buffer(im, &out->buf, &out->len,
			"compression", 6, "filter", VIPS_FOREIGN_PNG_FILTER_ALL, "strip", TRUE, NULL);
		break;
	case AVP_WEBP:
		failed = vips_webpsave_buffer(im, &out->buf, &out->len,
			"Q", opt->quality, "strip", TRUE, NULL);
		break;
	case AVP_AVIF:
		failed = vips_heifsave_buffer(im, &out->buf, &out->len,
			"Q", opt->quality, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
			"effort", opt->avif_effort, "strip", TRUE, NULL);
		break;
	default:
		vips_error("avatarproxy", "unknown output format %d", format);
		failed = -1;
	}
	g_object_unref(im);
	return failed;
}

int avp_resize(const void *buf, size_t len, const avp_options *opt, avp_output *out, char **reason) {
	int status = AVP_OK;
	memset(out, 0, sizeof *out);
	*reason = NULL;

	VipsImage *im = decode(buf, len, opt);
	if (!im) {
		status = AVP_FAILED_DECODE;
	} else {
		int format = opt->format;
		if (format == AVP_FAMILY) {
			format = vips_image_hasalpha(im) ? AVP_PNG : AVP_JPEG;
		}
		if (encode(im, format, opt, out)) {
			status = AVP_FAILED_ENCODE;
		}
	}
	if (status != AVP_OK) {
		*reason = vips_error_buffer_copy();
		g_free(out->buf);
		out->buf = NULL;
	}
	// libvips keeps buffers per thread, and this thread goes back to Go.
	vips_thread_shutdown();
	return status;
}
