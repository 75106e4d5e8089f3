package proxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/failure"
	"github.com/avatarproxy/avatarproxy/resize"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// avatarRequest is a parsed, validated avatar request.
type avatarRequest struct {
	upstream    *provider
	userID      string
	edge        int           // output edge in pixels: size x dpr, capped
	format      resize.Format // "" means the source's own family
	auto        bool          // format was negotiated from Accept
	whenMissing string        // what to serve when the user has none: the d parameter
	version     string        // v, timestamp or hash: a cache-buster the client put in the URL
	crop        string        // "centre" or "attention"
}

// maxVersionLen bounds the version token, which is kept with the original.
const maxVersionLen = 128

// maxUserIDLen bounds a user id: every provider's ids and Gravatar's SHA-256
// hashes are far shorter, and ids become part of cache keys and records.
const maxUserIDLen = 256

// checkUserID refuses a user id longer than maxUserIDLen.
func checkUserID(id string) error {
	if len(id) > maxUserIDLen {
		return badRequest("user_id: longer than %d bytes", maxUserIDLen)
	}
	return nil
}

// gravatarSuffixes are the image extensions Gravatar accepts after a hash
// (Discourse asks for {hash}.png).
var gravatarSuffixes = []string{".png", ".jpg", ".jpeg", ".gif"}

// pathUserID is the user id an avatar path names: for the gravatar kind,
// without the image extension Gravatar's own URLs may carry.
func pathUserID(src *provider, id string) string {
	if src.cfg.Kind != upstream.KindGravatar {
		return id
	}
	for _, ext := range gravatarSuffixes {
		if trimmed, ok := strings.CutSuffix(id, ext); ok && trimmed != "" {
			return trimmed
		}
	}
	return id
}

// parseAvatar validates the query of an avatar request for src and userID.
// allowed lists the parameters read; others are refused when strict. The
// request is returned by value so that a cache hit keeps it on the stack.
func (s *Server) parseAvatar(r *http.Request, src *provider, userID string, allowed paramSet, strict bool) (avatarRequest, error) {
	if err := checkUserID(userID); err != nil {
		return avatarRequest{}, err
	}
	q, err := parseQuery(r.URL.RawQuery, allowed, strict)
	if err != nil {
		return avatarRequest{}, err
	}
	rc := s.cfg.Resize
	req := avatarRequest{upstream: src, userID: userID, crop: "centre"}

	sizeParam := q[paramSize]
	if s := q[paramGravatarSize]; s != "" {
		if sizeParam != "" && sizeParam != s {
			return avatarRequest{}, badRequest("s: conflicts with size")
		}
		sizeParam = s
	}
	size, err := parseSize(sizeParam, rc)
	if err != nil {
		return avatarRequest{}, err
	}
	dpr := 1
	switch v := q[paramDPR]; v {
	case "", "1":
	case "2", "3":
		dpr = int(v[0] - '0')
	default:
		return avatarRequest{}, badRequest("dpr: must be 1, 2 or 3")
	}
	req.edge = min(size*dpr, rc.MaxSize)

	switch f := q[paramFormat]; f {
	case "", "auto":
		req.auto = true
		req.format = negotiate(r.Header["Accept"], rc)
	default:
		format, ok := resize.ParseFormat(f)
		if !ok {
			return avatarRequest{}, badRequest("format: must be jpeg, png, webp, avif or auto")
		}
		if (format == resize.WebP || format == resize.AVIF) && !rc.FormatEnabled(string(format)) {
			return avatarRequest{}, badRequest("format: %s is not enabled on this server", format)
		}
		req.format = format
	}

	req.whenMissing = s.cfg.DefaultAvatar
	if d := q[paramDefault]; d != "" {
		style, ok := defaultStyle(d)
		if !ok {
			return avatarRequest{}, badRequest("d: must be 404, blank, identicon, initials, mp, one of Gravatar's or a URL")
		}
		if style != "" {
			req.whenMissing = style
		}
	}

	switch c := q[paramCrop]; c {
	case "", "centre", "center":
	case "attention":
		req.crop = "attention"
	default:
		return avatarRequest{}, badRequest("crop: must be centre or attention")
	}

	for _, p := range [...]param{paramV, paramTimestamp, paramHash} {
		name, v := paramNames[p], q[p]
		if v == "" {
			continue
		}
		if req.version != "" && req.version != v {
			return avatarRequest{}, badRequest("%s: conflicts with another version parameter", name)
		}
		if len(v) > maxVersionLen || !isToken(v) {
			return avatarRequest{}, badRequest("%s: must be at most %d letters, digits, '.', '_' or '-'", name, maxVersionLen)
		}
		req.version = v
	}

	if s.signer != nil && !s.signer.valid(src.name, userID, req.version, q[paramSig]) {
		return avatarRequest{}, errBadSignature
	}
	return req, nil
}

// parseSize reads the size parameter: an integer edge in CSS pixels.
func parseSize(v string, rc config.Resize) (int, error) {
	if v == "" || v == "--SIZE--" {
		return rc.DefaultSize, nil
	}
	// Atoi alone would take "+64"; a size is plain digits.
	n, err := strconv.Atoi(v)
	if err != nil || v[0] < '0' || v[0] > '9' || n < 1 || n > rc.MaxSize {
		return 0, badRequest("size: must be an integer from 1 to %d", rc.MaxSize)
	}
	return rc.SizeFor(n), nil
}

// defaultStyle maps a d parameter to the default avatar it asks for:
// ours, or Gravatar's by the nearest of ours; "" for a URL, which stands
// for the configured default (the proxy fetches no URL a client names).
func defaultStyle(d string) (string, bool) {
	switch d {
	case "mm":
		return "mp", true
	case "retro", "monsterid", "wavatar", "robohash":
		return "identicon", true
	}
	if strings.HasPrefix(d, "http://") || strings.HasPrefix(d, "https://") {
		return "", true
	}
	return d, validDefault(d)
}

func validDefault(d string) bool {
	switch d {
	case "404", "blank", "identicon", "initials", "mp":
		return true
	}
	return false
}

// negotiate picks the output format for format=auto: AVIF, else WebP, when
// both the client and the configuration allow it; else the source's family.
func negotiate(accept []string, rc config.Resize) resize.Format {
	if rc.FormatEnabled("avif") && accepts(accept, "image/avif") {
		return resize.AVIF
	}
	if rc.FormatEnabled("webp") && accepts(accept, "image/webp") {
		return resize.WebP
	}
	return ""
}

// accepts reports whether an Accept header names mediaType explicitly with
// a non-zero quality. Wildcards do not count: browsers that cannot decode
// AVIF still send */*. It reads the header in place, allocating nothing.
func accepts(headers []string, mediaType string) bool {
	for _, h := range headers {
		for h != "" {
			var part string
			part, h, _ = strings.Cut(h, ",")
			if acceptsPart(part, mediaType) {
				return true
			}
		}
	}
	return false
}

// acceptsPart reports whether one media range of an Accept header is
// mediaType with a non-zero quality; a malformed range is ignored.
func acceptsPart(part, mediaType string) bool {
	mt, params, _ := strings.Cut(part, ";")
	if !strings.EqualFold(strings.TrimSpace(mt), mediaType) {
		return false
	}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, value, ok := strings.Cut(p, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return false
		}
		if !strings.EqualFold(name, "q") {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		if f, err := strconv.ParseFloat(value, 64); err != nil || f <= 0 {
			return false
		}
	}
	return true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// safeName quotes a client-supplied parameter name for an error message.
func safeName(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return strconv.Quote(s)
}

// signer checks the sig parameter of avatar URLs.
type signer struct {
	keys [][]byte // the current key first, then the previous ones
}

func newSigner(sec config.Security) *signer {
	if sec.SigningKey == "" {
		return nil
	}
	s := &signer{keys: [][]byte{[]byte(sec.SigningKey)}}
	for _, k := range sec.PreviousSigningKeys {
		s.keys = append(s.keys, []byte(k))
	}
	return s
}

// Sign returns the signature of an avatar URL, as a client or the
// application signs it.
func Sign(key []byte, upstream, userID, version string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signedPath(upstream, userID, version)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// signedPath is the message a signature covers: the upstream, the user id
// and the version token when there is one, joined with "/". The id is the
// one field that may hold "/" (upstream names and version tokens cannot),
// so in it "%" becomes "%25" and "/" becomes "%2F": every message then
// names one (upstream, id, version) only, and "good.png" with v=v1 no
// longer signs "good.png%2Fv1" without v. An id without "/" or "%" is
// signed as before.
func signedPath(upstream, userID, version string) string {
	userID = signedIDEscaper.Replace(userID)
	if version == "" {
		return upstream + "/" + userID
	}
	return upstream + "/" + userID + "/" + version
}

var signedIDEscaper = strings.NewReplacer("%", "%25", "/", "%2F")

func (s *signer) valid(upstream, userID, version, sig string) bool {
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	msg := []byte(signedPath(upstream, userID, version))
	ok := false
	// Check every key, so the time taken does not tell which one matched.
	for _, k := range s.keys {
		mac := hmac.New(sha256.New, k)
		mac.Write(msg)
		if hmac.Equal(mac.Sum(nil), got) {
			ok = true
		}
	}
	return ok
}

// requestError is a problem with what the client sent.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// clientClasses are the failure classes of what a client can get wrong.
var clientClasses = []*failure.Class{
	failure.BadRequest, failure.Unauthorized, failure.Forbidden, failure.NoRoute,
	failure.MethodNotAllowed, failure.BodyTooLarge, failure.Conflict,
}

// FailureClass implements failure.Classified: the client class of the
// error's status, else BadRequest.
func (e *requestError) FailureClass() *failure.Class {
	for _, c := range clientClasses {
		if c.Status == e.status {
			return c
		}
	}
	return failure.BadRequest
}

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

var (
	errUnknownUpstream = &requestError{status: http.StatusNotFound, msg: "unknown upstream"}
	errBadSignature    = &requestError{status: http.StatusForbidden, msg: "sig: missing or invalid signature"}
	errUnauthorized    = &requestError{status: http.StatusUnauthorized, msg: "missing or invalid credentials"}
)
