package upstream

import (
	"context"

	"github.com/avatarproxy/avatarproxy/config"
)

// gravatarSource fetches avatars from a Gravatar-compatible service, where
// the user id is the hex MD5 or SHA-256 hash of the e-mail address.
type gravatarSource struct {
	fetch *fetcher
	base  string
}

func newGravatarSource(cfg config.Upstream, opt Options) (*gravatarSource, error) {
	_, base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	return &gravatarSource{fetch: newFetcher(cfg, opt, nil), base: base}, nil
}

// Fetch asks for the largest size Gravatar renders and for a 404, rather
// than Gravatar's own default image, when the hash has no avatar.
func (s *gravatarSource) Fetch(ctx context.Context, userID string, cond Validators) (*Original, error) {
	if !isGravatarHash(userID) {
		return nil, ErrNotFound
	}
	return s.fetch.fetchImage(ctx, s.base+"/avatar/"+userID+"?s=2048&d=404", cond)
}

// isGravatarHash reports whether id is a lowercase hex MD5 (32 characters)
// or SHA-256 (64 characters); nothing else names a Gravatar.
func isGravatarHash(id string) bool {
	if len(id) != 32 && len(id) != 64 {
		return false
	}
	for _, c := range []byte(id) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
