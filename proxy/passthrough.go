package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/avatarproxy/avatarproxy/upstream"
)

// maxInspectedBody bounds how much of a pass-through request or response
// body is read to tell whether it changed an avatar.
const maxInspectedBody = 1 << 20

// passthrough returns the reverse proxy that forwards everything under the
// upstream's passthrough_prefix to its base_url, untouched: method, headers,
// streamed bodies and the client's own credentials. Requests that the
// provider recognises as changing a user's avatar purge that user once the
// upstream has accepted them, before the response reaches the client.
//
// The path is forwarded as the client escaped it, after the prefix, and
// the provider recognises changes in that same escaped path, so that the
// user it purges is the one the upstream reads. A path with a dot segment
// ("." or "..", in any encoding or with ;parameters) is refused with 400:
// the upstream might resolve it out of base_url's path, or to another
// resource than the one recognised.
func (s *Server) passthrough(src *provider) http.Handler {
	prefix := src.cfg.PassthroughPrefix
	forward := s.forwarder(src)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasDotSegment(r.URL.EscapedPath()) {
			writeError(w, badRequest("path: dot segments (. or ..) are not forwarded"))
			return
		}
		if !strings.HasPrefix(r.URL.EscapedPath(), prefix+"/") {
			// The prefix itself was escaped: the mux decoded it, the
			// forwarded path could not be told apart from it.
			writeError(w, badRequest("path: %s must be written unescaped", prefix))
			return
		}
		forward.ServeHTTP(w, r)
	})
}

// hasDotSegment reports whether an escaped path has a segment that a
// server may take for "." or "..": decoded once or more, and with or
// without ;parameters.
func hasDotSegment(escaped string) bool {
	for _, seg := range strings.Split(escaped, "/") {
		seg, _, _ = strings.Cut(seg, ";")
		for range 3 {
			if seg == "." || seg == ".." {
				return true
			}
			decoded, err := url.PathUnescape(seg)
			if err != nil || decoded == seg {
				break
			}
			seg, _, _ = strings.Cut(decoded, ";")
		}
	}
	return false
}

// forwarder is the reverse proxy of an upstream's pass-through.
func (s *Server) forwarder(src *provider) *httputil.ReverseProxy {
	target, _ := url.Parse(src.cfg.BaseURL) // validated at start-up
	prefix := src.cfg.PassthroughPrefix
	recognizer, _ := upstream.ProviderOf(src.cfg.Kind).(upstream.ChangeRecognizer)
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// Both forms lose the same prefix, which passthrough checked is
			// written unescaped, so the escaped path goes on as the client
			// wrote it.
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, prefix)
			pr.Out.URL.RawPath = strings.TrimPrefix(pr.In.URL.RawPath, prefix)
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: &changeWatcher{
			next:       upstream.NewTransport(src.cfg, s.guard),
			recognizer: recognizer,
			basePath:   strings.TrimSuffix(target.EscapedPath(), "/"),
			changed: func(r *http.Request, userIDs []string) {
				for _, id := range userIDs {
					s.Invalidate(r.Context(), src.name, id, "passthrough")
				}
			},
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// The URL (and whatever credentials a client put in its query)
			// stays out of the log: only the cause is kept.
			var urlErr *url.Error
			if errors.As(err, &urlErr) {
				err = urlErr.Err
			}
			s.log.Warn("pass-through request failed", "upstream", src.name, "method", r.Method, "err", err)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "upstream unavailable", http.StatusBadGateway)
		},
	}
}

// changeWatcher is the pass-through transport: it forwards each request and
// reports the user whose avatar a successful changing request changed, as
// the provider recognises them.
type changeWatcher struct {
	next       http.RoundTripper
	recognizer upstream.ChangeRecognizer // nil: the provider knows of no changing request
	basePath   string                    // base_url's escaped path, which the forwarded path starts with
	changed    func(r *http.Request, userIDs []string)
}

func (c *changeWatcher) RoundTrip(r *http.Request) (*http.Response, error) {
	var ch *upstream.Change
	if c.recognizer != nil {
		// The escaped path, exactly as the upstream receives it.
		ch = c.recognizer.RecognizeChange(r.Method, strings.TrimPrefix(r.URL.EscapedPath(), c.basePath))
	}
	if ch != nil && ch.ConfirmRequest != nil && !ch.ConfirmRequest(peekBody(&r.Body)) {
		ch = nil
	}
	res, err := c.next.RoundTrip(r)
	if err != nil || ch == nil || res.StatusCode < 200 || res.StatusCode > 299 {
		return res, err
	}
	if ch.ConfirmResponse != nil && !ch.ConfirmResponse(peekBody(&res.Body)) {
		return res, nil
	}
	c.changed(r, ch.UserIDs)
	return res, nil
}

// peekBody reads up to maxInspectedBody+1 bytes of *body, telling whether
// that is more than maxInspectedBody, and puts them back in front of the
// rest, so the body still streams on unchanged.
func peekBody(body *io.ReadCloser) (head []byte, truncated bool) {
	if *body == nil || *body == http.NoBody {
		return nil, false
	}
	head, _ = io.ReadAll(io.LimitReader(*body, maxInspectedBody+1))
	*body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), *body), *body}
	return head, len(head) > maxInspectedBody
}
