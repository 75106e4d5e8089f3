package upstream

import (
	"net/url"
	"strings"
)

// ChangeRecognizer is implemented by providers whose API, reached through
// an upstream's passthrough_prefix, has requests that change a user's
// avatar, so that the proxy can purge that user once the provider accepts
// one.
type ChangeRecognizer interface {
	// RecognizeChange returns the change a request would make, or nil for
	// a request that changes no avatar. path is the request's path
	// relative to base_url, still escaped.
	RecognizeChange(method, path string) *Change
}

// Change is a pass-through request that changes a user's avatar when the
// provider answers it with a 2xx status.
type Change struct {
	UserID string
	// ConfirmRequest and ConfirmResponse, when set, look at the start of
	// the request or response body and may deny that it changed the
	// avatar.
	ConfirmRequest, ConfirmResponse BodyCheck
}

// BodyCheck reports whether a body confirms a change. head is the start
// of the body; truncated says the body goes on beyond it.
type BodyCheck func(head []byte, truncated bool) bool

// matchPath matches a relative path against a pattern of segments, where
// "{id}" stands for the user id, and returns the id unescaped.
func matchPath(path string, pattern ...string) (string, bool) {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) != len(pattern) {
		return "", false
	}
	id := ""
	for i, p := range pattern {
		switch {
		case p == "{id}":
			id = seg[i]
		case p != seg[i]:
			return "", false
		}
	}
	if unescaped, err := url.PathUnescape(id); err == nil {
		id = unescaped
	}
	return id, id != ""
}
