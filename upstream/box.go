package upstream

import (
	"context"
	"net/http"
	"net/url"

	"github.com/avatarproxy/avatarproxy/config"
)

// KindBox is the Box API.
const KindBox = "box"

// boxProvider is Box. Its webhooks report file and folder events only,
// never a user's, so it takes no webhook_secret.
type boxProvider struct{}

func (boxProvider) Kind() string { return KindBox }

func (boxProvider) Config() config.KindRules {
	return withBoxCredentials(networkRules(map[string]config.KeyRule{
		"base_url":           {Required: true},
		"passthrough_prefix": {},
	}))
}

func (boxProvider) newSource(cfg config.Upstream, opt Options) Source {
	_, base := parseBaseURL(cfg)
	fetch := newFetcher(cfg, opt, nil)
	boxAuth(cfg, fetch)
	return &boxSource{fetch: fetch, base: base}
}

// RecognizeChange: POST /users/{id}/avatar uploads an avatar, DELETE
// removes it. Box user ids are numbers.
func (boxProvider) RecognizeChange(method, path string) *Change {
	if ids, ok := matchPath(path, "users", "{id}", "avatar"); ok && (method == http.MethodPost || method == http.MethodDelete) {
		return &Change{UserIDs: withCanonicalNumbers(ids)}
	}
	return nil
}

// boxSource fetches avatars from the Box API: GET /users/{id}/avatar
// answers the image itself.
type boxSource struct {
	fetch *fetcher
	base  string
}

// Fetch gets the user's avatar. Box labels every avatar image/jpg, PNGs
// included, so the Content-Type is not looked at.
func (s *boxSource) Fetch(ctx context.Context, userID string, cond Validators) (*Original, error) {
	if !isPathSegmentID(userID) {
		return nil, ErrNotFound
	}
	return s.fetch.fetchImage(ctx, s.base+"/users/"+url.PathEscape(userID)+"/avatar", cond)
}
