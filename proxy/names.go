package proxy

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/avatarproxy/avatarproxy/cache"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// displayName is a user's name as the upstream gave it, for initials; ""
// when the upstream has none or could not be asked.
type displayName struct{ name string }

// displayNames remembers users' display names under their generation, as
// originals are: a purge forgets them, concurrent lookups of one user
// make one call, and a failed lookup is remembered for retryFailed, so
// that d=initials over a failing upstream does not ask it on every
// request.
type displayNames struct {
	log     *slog.Logger
	tier    *cache.Tier[displayName]
	lookups *cache.Group[*displayName]
	ttl     time.Duration // a name
	negTTL  time.Duration // a user the upstream does not know
}

func newDisplayNames(log *slog.Logger, maxBytes int64, ttl, negTTL, longest time.Duration) (*displayNames, error) {
	tier, err := cache.NewTier(cache.TierConfig[displayName]{
		MaxBytes: maxBytes,
		Size:     func(n *displayName) int { return len(n.name) },
	})
	if err != nil {
		return nil, err
	}
	return &displayNames{log: log, tier: tier, lookups: cache.NewGroup[*displayName](longest), ttl: ttl, negTTL: negTTL}, nil
}

// get returns the name of req's user in generation gen, asking namer only
// when nothing is remembered.
func (d *displayNames) get(ctx context.Context, namer upstream.Namer, req *avatarRequest, gen uint64) string {
	key := originalKey(req, gen)
	if n, ok := d.tier.Get(key); ok {
		return n.name
	}
	n, _, err := d.lookups.Do(ctx, key, func(ctx context.Context) (*displayName, error) {
		name, err := namer.DisplayName(ctx, req.userID)
		ttl := d.ttl
		switch {
		case errors.Is(err, upstream.ErrNotFound):
			ttl = d.negTTL
		case err != nil:
			d.log.Info("no display name for initials", "upstream", req.upstream.name, "err", err)
			ttl = retryFailed
		}
		n := &displayName{name: name}
		if err != nil {
			n.name = ""
		}
		d.tier.Set(key, n, ttl)
		return n, nil
	})
	if err != nil {
		// This caller gave up; the lookup goes on for the others.
		return ""
	}
	return n.name
}

// Close releases the tier.
func (d *displayNames) Close() { d.tier.Close() }
