package upstream

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/avatarproxy/avatarproxy/config"
)

// userIDPlaceholder is replaced by the user id in an http url_template.
const userIDPlaceholder = "{user_id}"

// httpSource fetches avatars from a plain HTTP origin.
type httpSource struct {
	fetch    *fetcher
	template string
	// escape suits the part of the URL where the placeholder stands.
	escape func(string) string
}

func newHTTPSource(cfg config.Upstream, opt Options) (*httpSource, error) {
	if !strings.Contains(cfg.URLTemplate, userIDPlaceholder) {
		return nil, errors.New("url_template must contain " + userIDPlaceholder)
	}
	u, err := url.Parse(strings.ReplaceAll(cfg.URLTemplate, userIDPlaceholder, "x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("url_template: want an absolute http or https URL")
	}
	escape := url.PathEscape
	if q := strings.IndexByte(cfg.URLTemplate, '?'); q >= 0 && q < strings.Index(cfg.URLTemplate, userIDPlaceholder) {
		escape = url.QueryEscape
	}
	return &httpSource{fetch: newFetcher(cfg, opt, nil), template: cfg.URLTemplate, escape: escape}, nil
}

// Fetch gets url_template with the user id substituted; 404 and 410 mean
// no avatar, and the origin's own ETag and Last-Modified make later
// fetches conditional.
func (s *httpSource) Fetch(ctx context.Context, userID string, cond Validators) (*Original, error) {
	if !isPathSegmentID(userID) {
		return nil, ErrNotFound
	}
	target := strings.ReplaceAll(s.template, userIDPlaceholder, s.escape(userID))
	return s.fetch.fetchImage(ctx, target, cond)
}
