package proxy

import (
	"bytes"
	"encoding/json"
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
// streamed bodies and the client's own credentials. Requests that change a
// user's avatar purge that user once the upstream has accepted them, before
// the response reaches the client.
func (s *Server) passthrough(src *source) http.Handler {
	target, _ := url.Parse(src.cfg.BaseURL) // validated at start-up
	prefix := src.cfg.PassthroughPrefix
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, prefix)
			pr.Out.URL.RawPath = strings.TrimPrefix(pr.In.URL.RawPath, prefix)
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: &changeWatcher{
			next:     upstream.NewTransport(src.cfg),
			kind:     src.cfg.Kind,
			basePath: strings.TrimSuffix(target.Path, "/"),
			changed: func(r *http.Request, userID string) {
				s.Invalidate(r.Context(), src.name, userID, "passthrough")
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
// reports the user whose avatar a successful changing request changed.
type changeWatcher struct {
	next     http.RoundTripper
	kind     string
	basePath string // base_url's path, which the forwarded path starts with
	changed  func(r *http.Request, userID string)
}

func (c *changeWatcher) RoundTrip(r *http.Request) (*http.Response, error) {
	rel := strings.TrimPrefix(r.URL.Path, c.basePath)
	ch := avatarChange(c.kind, r.Method, rel)
	if ch != nil && ch.inspectRequest != nil && !ch.inspectRequest(peekBody(&r.Body)) {
		ch = nil
	}
	res, err := c.next.RoundTrip(r)
	if err != nil || ch == nil || res.StatusCode < 200 || res.StatusCode > 299 {
		return res, err
	}
	if ch.inspectResponse != nil && !ch.inspectResponse(peekBody(&res.Body)) {
		return res, nil
	}
	c.changed(r, ch.userID)
	return res, nil
}

// change is a pass-through request that changes a user's avatar when the
// upstream accepts it. The inspectors, when set, look at the start of the
// request or response body and may veto it.
type change struct {
	userID          string
	inspectRequest  func(body []byte) bool
	inspectResponse func(body []byte) bool
}

// avatarChange recognises the changing requests of the README's upstream table; rel is
// the request path relative to the upstream's base_url.
func avatarChange(kind, method, rel string) *change {
	seg := strings.Split(strings.Trim(rel, "/"), "/")
	match := func(pattern ...string) (string, bool) {
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
	switch kind {
	case "box":
		if id, ok := match("users", "{id}", "avatar"); ok && (method == http.MethodPost || method == http.MethodDelete) {
			return &change{userID: id}
		}
	case "docspace":
		if id, ok := match("api", "2.0", "people", "{id}", "photo"); ok {
			switch method {
			case http.MethodPut, http.MethodDelete:
				return &change{userID: id}
			case http.MethodPost:
				// DocSpace reports a refused upload inside a 200.
				return &change{userID: id, inspectResponse: docSpaceSucceeded}
			}
		}
		if id, ok := match("api", "2.0", "people", "{id}", "photo", "thumbnails"); ok && method == http.MethodPost {
			return &change{userID: id}
		}
	case "activecollab":
		if id, ok := match("api", "v1", "users", "{id}"); ok && method == http.MethodPut {
			return &change{userID: id, inspectRequest: setsActiveCollabAvatar}
		}
		if id, ok := match("api", "v1", "users", "{id}", "clear-avatar"); ok && method == http.MethodDelete {
			return &change{userID: id}
		}
	}
	return nil
}

// docSpaceSucceeded reads DocSpace's envelope: {"response": {"success": true, ...}}.
func docSpaceSucceeded(body []byte) bool {
	var env struct {
		Response struct {
			Success bool `json:"success"`
		} `json:"response"`
	}
	return json.Unmarshal(body, &env) == nil && env.Response.Success
}

// setsActiveCollabAvatar reports whether a user update carries an
// uploaded_avatar_code. A body too large to inspect counts as a change:
// a needless purge costs a refetch, a missed one serves an old face.
func setsActiveCollabAvatar(body []byte) bool {
	if len(body) > maxInspectedBody {
		return true
	}
	var update struct {
		Code json.RawMessage `json:"uploaded_avatar_code"`
	}
	if err := json.Unmarshal(body, &update); err != nil {
		return false
	}
	code := strings.TrimSpace(string(update.Code))
	return code != "" && code != "null" && code != `""`
}

// peekBody reads up to maxInspectedBody+1 bytes of *body and puts them back
// in front of the rest, so the body still streams on unchanged.
func peekBody(body *io.ReadCloser) []byte {
	if *body == nil || *body == http.NoBody {
		return nil
	}
	head, _ := io.ReadAll(io.LimitReader(*body, maxInspectedBody+1))
	*body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), *body), *body}
	return head
}
