package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/avatarproxy/avatarproxy/failure"
	"github.com/avatarproxy/avatarproxy/onewrite"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// This file holds everything the proxy writes back: avatars with their
// caching headers, ETag matching, and errors with their statuses.

// cacheControl is the Cache-Control policy, fixed by the configuration,
// as header values ready to assign.
type cacheControl struct {
	browser  []string // a rendered avatar
	negative []string // the default for a user without an avatar
	// unconfirmed is a versioned URL served before its token is confirmed:
	// cached until the next check may confirm it, not for good.
	unconfirmed []string
}

func newCacheControl(browserTTL, negativeTTL, versionInterval int) cacheControl {
	return cacheControl{
		browser:     headerValue(fmt.Sprintf("public, max-age=%d, stale-while-revalidate=60, stale-if-error=86400", browserTTL)),
		negative:    headerValue(fmt.Sprintf("public, max-age=%d", negativeTTL)),
		unconfirmed: headerValue(fmt.Sprintf("public, max-age=%d", versionInterval)),
	}
}

// Cache-Control of answers that are not the configured policy's.
const (
	cacheFallback  = "public, max-age=10"
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNever     = "no-store"
)

// Header values every avatar answer shares. net/http only reads the values
// a handler leaves in its header map, and Header.Add appends past a
// one-element slice's capacity, so sharing them across responses is safe.
var (
	valueFallback  = headerValue(cacheFallback)
	valueImmutable = headerValue(cacheImmutable)
	valueAccept    = headerValue("Accept")
	valueNosniff   = headerValue("nosniff")
	valueHit       = headerValue("HIT")
	valueMiss      = headerValue("MISS")
	valueStale     = headerValue("STALE")
)

// headerValue is a header's single value, with no room to append in place.
func headerValue(v string) []string { return []string{v} }

// variantHeaders are a variant's own response headers, ready to assign.
type variantHeaders struct {
	contentType, contentLength, etag []string
	purgeTag                         []string // "avatar " + the user's tag; nil for shared defaults
}

func newVariantHeaders(v *variant) variantHeaders {
	return variantHeaders{
		contentType:   headerValue(v.contentType),
		contentLength: headerValue(strconv.Itoa(len(v.body))),
		etag:          headerValue(v.etag),
	}
}

// purgeTagHeader is the value of the purge tag headers for req's user.
func purgeTagHeader(req *avatarRequest) []string {
	return headerValue("avatar " + purgeTag(req.upstream.name, req.userID))
}

func (s *Server) respondAvatar(w http.ResponseWriter, r *http.Request, req *avatarRequest) {
	ans, err := s.avatars.get(r.Context(), req)
	if err != nil {
		if r.Context().Err() != nil {
			// The client has gone; nobody reads what we would write.
			w.WriteHeader(499)
			return
		}
		if class, known := failure.Of(err); !known || class.Status >= 500 && class != failure.Busy {
			s.log.Error("avatar request failed", "upstream", req.upstream.name, "class", class.Name, "err", err)
		}
		writeError(w, err)
		return
	}
	s.writeAvatar(w, r, req, &ans)
}

// writeAvatar sends an answer with the caching headers the README
// documents. Its headers are assigned from values made beforehand, in
// their canonical form, so that a hit allocates none.
func (s *Server) writeAvatar(w http.ResponseWriter, r *http.Request, req *avatarRequest, ans *answer) {
	v := ans.v
	h := w.Header()
	switch ans.cache {
	case "HIT":
		h["X-Cache"] = valueHit
	case "STALE":
		h["X-Cache"] = valueStale
	default:
		h["X-Cache"] = valueMiss
	}
	if req.auto {
		h["Vary"] = valueAccept
	}
	tag := v.headers.purgeTag
	if tag == nil || v.state == variantDefault {
		tag = purgeTagHeader(req) // a default shared by users carries none
	}
	for _, name := range s.purgeTagHeaders {
		h[name] = tag
	}
	switch {
	case ans.fallbackReason != "":
		h.Set("X-Avatar-Fallback", ans.fallbackReason)
		h["Cache-Control"] = valueFallback
	case v.missing():
		h["Cache-Control"] = s.cacheControl.negative
	case req.version != "" && ans.unconfirmed:
		h["Cache-Control"] = s.cacheControl.unconfirmed
	case req.version != "":
		h["Cache-Control"] = valueImmutable
	default:
		h["Cache-Control"] = s.cacheControl.browser
	}
	if v.state == variantNoImage {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			fmt.Fprintln(w, "no avatar")
		}
		return
	}
	h["Etag"] = v.headers.etag
	if etagMatches(r.Header["If-None-Match"], v.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = v.headers.contentType
	h["Content-Length"] = v.headers.contentLength
	h["X-Content-Type-Options"] = valueNosniff
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		// A large avatar leaves with its headers in one write.
		onewrite.Write(w, r, v.body)
	}
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 13.1.2),
// reading the header in place.
func etagMatches(headers []string, etag string) bool {
	for _, h := range headers {
		for h != "" {
			var candidate string
			candidate, h, _ = strings.Cut(h, ",")
			candidate = strings.TrimSpace(candidate)
			if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
				return true
			}
		}
	}
	return false
}

// errorStatus maps an error to the status and one-line message a client
// gets, from its failure class. A client error's own message names what
// was wrong; other classes answer with the class's public message.
func errorStatus(err error) (int, string) {
	class, _ := failure.Of(err)
	if class.IsClientError() {
		var re *requestError
		if errors.As(err, &re) {
			return class.Status, re.msg
		}
	}
	var ue *upstream.Error
	if errors.As(err, &ue) {
		return class.Status, class.Message + ": " + ue.Reason
	}
	return class.Status, class.Message
}

// fallbackReason names why an avatar could not be rendered from the
// upstream, for the X-Avatar-Fallback header; "" when the error's class is
// not one a default image papers over.
func fallbackReason(err error) string {
	class, _ := failure.Of(err)
	if class == nil || !class.Fallback {
		return ""
	}
	var ue *upstream.Error
	if errors.As(err, &ue) {
		return ue.Reason // status-502 and the like carry the code
	}
	return class.Name
}

func writeError(w http.ResponseWriter, err error) {
	status, msg := errorStatus(err)
	h := w.Header()
	h.Set("Cache-Control", cacheNever)
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	http.Error(w, msg, status)
}
