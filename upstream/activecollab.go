package upstream

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/avatarproxy/avatarproxy/config"
)

// KindActiveCollab is ActiveCollab.
const KindActiveCollab = "activecollab"

// activeCollabProvider is ActiveCollab.
type activeCollabProvider struct{}

func (activeCollabProvider) Kind() string { return KindActiveCollab }

func (activeCollabProvider) Config() config.KindRules {
	return networkRules(map[string]config.KeyRule{
		"base_url":           {Required: true},
		"token":              {}, // X-Angie-AuthApiToken
		"passthrough_prefix": {},
		"webhook_secret":     {},
	})
}

func (activeCollabProvider) newSource(cfg config.Upstream, opt Options) Source {
	_, base := parseBaseURL(cfg)
	header := http.Header{}
	if cfg.Token != "" {
		header.Set("X-Angie-AuthApiToken", cfg.Token)
	}
	return &activeCollabSource{fetch: newFetcher(cfg, opt, header), base: base}
}

// activeCollabSource fetches avatars from ActiveCollab's avatar proxy,
// which always answers an image: the uploaded avatar or rendered initials.
type activeCollabSource struct {
	fetch *fetcher
	base  string
}

// Fetch gets the 256 pixel avatar, the largest ActiveCollab renders.
// ActiveCollab answers If-None-Match with 304 against its unquoted MD5
// Etag, which is kept exactly as sent; 404 means an unknown user.
func (s *activeCollabSource) Fetch(ctx context.Context, userID string, cond Validators) (*Original, error) {
	if userID == "" {
		return nil, ErrNotFound
	}
	target := s.base + "/proxy.php?proxy=avatar&module=system&user_id=" + url.QueryEscape(userID) + "&size=256"
	return s.fetch.fetchImage(ctx, target, cond)
}

// DisplayName reads the user's display_name from /api/v1/users/{id},
// falling back to first and last name.
func (s *activeCollabSource) DisplayName(ctx context.Context, userID string) (string, error) {
	if !isPathSegmentID(userID) {
		return "", ErrNotFound
	}
	var user struct {
		Single struct {
			DisplayName string `json:"display_name"`
			FirstName   string `json:"first_name"`
			LastName    string `json:"last_name"`
		} `json:"single"`
	}
	if err := s.fetch.getJSON(ctx, s.base+"/api/v1/users/"+url.PathEscape(userID), &user); err != nil {
		return "", err
	}
	u := user.Single
	if u.DisplayName != "" {
		return u.DisplayName, nil
	}
	return strings.TrimSpace(u.FirstName + " " + u.LastName), nil
}
