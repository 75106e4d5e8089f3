package upstream

import (
	"context"

	"github.com/avatarproxy/avatarproxy/config"
)

// KindGravatar is a Gravatar-compatible service.
const KindGravatar = "gravatar"

// gravatarProvider is Gravatar or a service that speaks its avatar API,
// such as Libravatar.
type gravatarProvider struct{}

func (gravatarProvider) Kind() string { return KindGravatar }

func (gravatarProvider) Config() config.KindRules {
	return networkRules(map[string]config.KeyRule{"base_url": {Required: true}})
}

func (gravatarProvider) newSource(cfg config.Upstream, opt Options) Source {
	_, base := parseBaseURL(cfg)
	return &gravatarSource{fetch: newFetcher(cfg, opt, nil), base: base}
}

// gravatarSource fetches avatars from a Gravatar-compatible service, where
// the user id is the hex MD5 or SHA-256 hash of the e-mail address.
type gravatarSource struct {
	fetch *fetcher
	base  string
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
