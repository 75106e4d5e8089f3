package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/avatarproxy/avatarproxy/config"
)

// boxSource fetches avatars from the Box API: GET /users/{id}/avatar
// answers the image itself.
type boxSource struct {
	fetch *fetcher
	base  string
}

func newBoxSource(cfg config.Upstream, opt Options) (*boxSource, error) {
	_, base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("token is required")
	}
	header := http.Header{"Authorization": {"Bearer " + cfg.Token}}
	return &boxSource{fetch: newFetcher(cfg, opt, header), base: base}, nil
}

// Fetch gets the user's avatar. Box labels every avatar image/jpg, PNGs
// included, so the Content-Type is not looked at.
func (s *boxSource) Fetch(ctx context.Context, userID string, cond Validators) (*Original, error) {
	if !isPathSegmentID(userID) {
		return nil, ErrNotFound
	}
	return s.fetch.fetchImage(ctx, s.base+"/users/"+url.PathEscape(userID)+"/avatar", cond)
}
