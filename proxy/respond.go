package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/avatarproxy/avatarproxy/failure"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// This file holds everything the proxy writes back: avatars with their
// caching headers, ETag matching, and errors with their statuses.

// cacheControl is the Cache-Control policy, fixed by the configuration.
type cacheControl struct {
	browser  string // a rendered avatar
	negative string // the default for a user without an avatar
	// unconfirmed is a versioned URL served before its token is confirmed:
	// cached until the next check may confirm it, not for good.
	unconfirmed string
}

func newCacheControl(browserTTL, negativeTTL, versionInterval int) cacheControl {
	return cacheControl{
		browser:     fmt.Sprintf("public, max-age=%d, stale-while-revalidate=60, stale-if-error=86400", browserTTL),
		negative:    fmt.Sprintf("public, max-age=%d", negativeTTL),
		unconfirmed: fmt.Sprintf("public, max-age=%d", versionInterval),
	}
}

// Cache-Control of answers that are not the configured policy's.
const (
	cacheFallback  = "public, max-age=10"
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNever     = "no-store"
)

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
	s.writeAvatar(w, r, req, ans)
}

// writeAvatar sends an answer with the caching headers the README documents.
func (s *Server) writeAvatar(w http.ResponseWriter, r *http.Request, req *avatarRequest, ans *answer) {
	v := ans.v
	h := w.Header()
	h.Set("X-Cache", ans.cache)
	if req.auto {
		h.Set("Vary", "Accept")
	}
	tag := purgeTag(req.upstream.name, req.userID)
	for _, name := range s.cfg.HTTP.PurgeTagHeaders {
		h.Set(name, "avatar "+tag)
	}
	switch {
	case ans.fallbackReason != "":
		h.Set("X-Avatar-Fallback", ans.fallbackReason)
		h.Set("Cache-Control", cacheFallback)
	case v.missing():
		h.Set("Cache-Control", s.cacheControl.negative)
	case req.version != "" && ans.unconfirmed:
		h.Set("Cache-Control", s.cacheControl.unconfirmed)
	case req.version != "":
		h.Set("Cache-Control", cacheImmutable)
	default:
		h.Set("Cache-Control", s.cacheControl.browser)
	}
	if v.state == variantNoImage {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			fmt.Fprintln(w, "no avatar")
		}
		return
	}
	h.Set("ETag", v.etag)
	if etagMatches(r.Header.Values("If-None-Match"), v.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", v.contentType)
	h.Set("Content-Length", strconv.Itoa(len(v.body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(v.body)
	}
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatches(headers []string, etag string) bool {
	for _, h := range headers {
		for _, candidate := range strings.Split(h, ",") {
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
