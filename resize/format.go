package resize

import "strings"

// Format is an image format, named as in Content-Type subtypes.
type Format string

// The formats avatarproxy reads. All but GIF and HEIF can also be written.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	WebP Format = "webp"
	AVIF Format = "avif"
	GIF  Format = "gif"
	HEIF Format = "heif"
)

// ContentType returns the media type of f, or "application/octet-stream"
// for an unknown format.
func (f Format) ContentType() string {
	switch f {
	case JPEG, PNG, WebP, AVIF, GIF, HEIF:
		return "image/" + string(f)
	}
	return "application/octet-stream"
}

// ParseFormat parses an output format name as written in URLs and
// configuration: jpeg (or jpg), png, webp or avif, in any letter case.
func ParseFormat(s string) (Format, bool) {
	switch strings.ToLower(s) {
	case "jpeg", "jpg":
		return JPEG, true
	case "png":
		return PNG, true
	case "webp":
		return WebP, true
	case "avif":
		return AVIF, true
	}
	return "", false
}

// encodable reports whether Resize can write f.
func (f Format) encodable() bool {
	switch f {
	case JPEG, PNG, WebP, AVIF:
		return true
	}
	return false
}
