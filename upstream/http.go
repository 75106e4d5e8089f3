package upstream

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/avatarproxy/avatarproxy/config"
)

// KindHTTP is a plain HTTP origin.
const KindHTTP = "http"

// userIDPlaceholder is replaced by the user id in an http url_template.
const userIDPlaceholder = "{user_id}"

// httpProvider is any HTTP origin that serves avatars at a URL built from
// the user id.
type httpProvider struct{}

func (httpProvider) Kind() string { return KindHTTP }

func (httpProvider) Config() config.KindRules {
	return networkRules(map[string]config.KeyRule{
		"url_template": {Required: true, Check: checkURLTemplate},
	})
}

func checkURLTemplate(template string) error {
	if !strings.Contains(template, userIDPlaceholder) {
		return errors.New("must contain " + userIDPlaceholder)
	}
	return config.CheckHTTPURL(strings.ReplaceAll(template, userIDPlaceholder, "x"))
}

func (httpProvider) newSource(cfg config.Upstream, opt Options) Source {
	escape := url.PathEscape
	if q := strings.IndexByte(cfg.URLTemplate, '?'); q >= 0 && q < strings.Index(cfg.URLTemplate, userIDPlaceholder) {
		escape = url.QueryEscape
	}
	return &httpSource{fetch: newFetcher(cfg, opt, nil), template: cfg.URLTemplate, escape: escape}
}

// httpSource fetches avatars from a plain HTTP origin.
type httpSource struct {
	fetch    *fetcher
	template string
	// escape suits the part of the URL where the placeholder stands.
	escape func(string) string
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
