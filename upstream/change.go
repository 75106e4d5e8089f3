package upstream

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ChangeRecognizer is implemented by providers whose API, reached through
// an upstream's passthrough_prefix, has requests that change a user's
// avatar, so that the proxy can purge that user once the provider accepts
// one.
type ChangeRecognizer interface {
	// RecognizeChange returns the change a request would make, or nil for
	// a request that changes no avatar. path is the request's path
	// relative to base_url, escaped exactly as it is forwarded; it has no
	// dot segments, which the proxy refuses.
	RecognizeChange(method, path string) *Change
}

// Change is a pass-through request that changes a user's avatar when the
// provider answers it with a 2xx status.
type Change struct {
	// UserIDs are the user the request changes, as the provider reads the
	// path, and other spellings the provider may take for the same user
	// (without ;parameters, a number in canonical form). Each is purged: a
	// needless purge costs a refetch, a missed one serves an old face.
	UserIDs []string
	// ConfirmRequest and ConfirmResponse, when set, look at the start of
	// the request or response body and may deny that it changed the
	// avatar.
	ConfirmRequest, ConfirmResponse BodyCheck
}

// BodyCheck reports whether a body confirms a change. head is the start
// of the body; truncated says the body goes on beyond it.
type BodyCheck func(head []byte, truncated bool) bool

// matchPath matches a path relative to base_url, escaped as it is
// forwarded, against a pattern of segments, where "{id}" stands for the
// user id. It is lenient where servers differ, so that whatever the
// provider may route to the pattern matches it: empty segments are
// skipped, fixed segments compare without case and without ;parameters.
// It returns the id decoded once, as the provider decodes a path segment,
// and also without its ;parameters when it has some.
func matchPath(path string, pattern ...string) ([]string, bool) {
	seg := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	if len(seg) != len(pattern) {
		return nil, false
	}
	var ids []string
	for i, p := range pattern {
		bare, _, hasParams := strings.Cut(seg[i], ";")
		name, err := url.PathUnescape(bare)
		if err != nil {
			return nil, false
		}
		if p != "{id}" {
			if !strings.EqualFold(name, p) {
				return nil, false
			}
			continue
		}
		full, err := url.PathUnescape(seg[i])
		if err != nil || name == "" {
			return nil, false
		}
		ids = append(ids, full)
		if hasParams {
			ids = append(ids, name)
		}
	}
	return ids, true
}

// withCanonicalNumbers adds, for every id written as a decimal number with
// leading zeros or a plus sign, its canonical form, which a provider with
// numeric ids reads it as.
func withCanonicalNumbers(ids []string) []string {
	for _, id := range ids {
		if n, err := strconv.ParseUint(strings.TrimPrefix(id, "+"), 10, 64); err == nil {
			if canonical := strconv.FormatUint(n, 10); canonical != id && !slices.Contains(ids, canonical) {
				ids = append(ids, canonical)
			}
		}
	}
	return ids
}
