#ifndef AVATARPROXY_PIPELINE_H
#define AVATARPROXY_PIPELINE_H

#include <stddef.h>

// Source formats, as Inspect names them.
enum {
	AVP_SOURCE_JPEG = 1,
	AVP_SOURCE_PNG = 2,
	AVP_SOURCE_WEBP = 3,
	AVP_SOURCE_GIF = 4,
	AVP_SOURCE_HEIF = 5, // AVIF too: libheif reads both
};

// Output formats; AVP_FAMILY asks for the source's own family.
enum {
	AVP_FAMILY = 0,
	AVP_JPEG = 1,
	AVP_PNG = 2,
	AVP_WEBP = 3,
	AVP_AVIF = 4,
};

// The stages a failure can come from.
enum {
	AVP_OK = 0,
	AVP_FAILED_DECODE = 1, // loading, resizing, cropping or rotating
	AVP_FAILED_ENCODE = 2,
};

typedef struct {
	int source;      // AVP_SOURCE_*
	int width;       // the source's stored size, from its header
	int height;
	int edge;        // the output's width and height
	int attention;   // crop to libvips' attention point, not the centre
	int format;      // AVP_FAMILY or one of AVP_JPEG..AVP_AVIF
	int quality;     // 1..100
	int avif_effort; // heifsave's effort, 0..9
} avp_options;

typedef struct {
	void *buf;  // g_malloc'd encoded bytes; the caller g_free()s them
	size_t len;
	int format; // the format written
} avp_output;

// avp_resize makes buf into an edge x edge image as opt says. It returns
// AVP_OK, or the stage that failed with libvips' reason in *reason, which
// the caller g_free()s.
int avp_resize(const void *buf, size_t len, const avp_options *opt, avp_output *out, char **reason);

#endif
