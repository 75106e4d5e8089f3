package proxy

import (
	"context"
	"slices"
)

// Version tokens (v, timestamp, hash) are part of what a cached original
// is, never a purge: the original carries the tokens confirmed for it. A
// confirmed token is served from the cached original, however old; a new
// one makes the proxy ask the upstream, conditionally, at most once per
// user per version interval, and then joins the confirmed tokens. Inside
// the interval a new token gets the newest original known, marked
// unconfirmed so that it is not cached as immutable. Variants stay keyed
// by user and generation, not by token, so a client inventing tokens costs
// no resize, no purge and no memory outside the original's bounded entry.

// versionedHit is the hit getVersion would find, found without allocating:
// the cached original confirms the token and the variant was rendered from
// it. kb holds the user's key and generation, the original's key.
func (a *avatars) versionedHit(req *avatarRequest, kb *keyBuffer) (answer, bool) {
	orig, ok := a.originals.Get(kb.view())
	if !ok || !orig.confirms(req.version) {
		return answer{}, false
	}
	kb.appendRender(req)
	v, ok := a.variants.Get(kb.view())
	if !ok || v.state == variantStale || !v.renderedFrom(orig) {
		return answer{}, false
	}
	a.originalLookups.count(true)
	a.variantLookups.count(true)
	return answer{v: v, cache: "HIT"}, true
}

// getVersion serves a request that carries a version token.
func (a *avatars) getVersion(ctx context.Context, req *avatarRequest, gen uint64) (*answer, error) {
	okey := originalKey(req, gen)
	orig, _ := a.cachedOriginal(ctx, req, gen, okey)
	if !orig.confirms(req.version) && !a.checkedRecently(orig) {
		var err error
		orig, err = a.checkVersion(ctx, req, gen, okey)
		if err != nil {
			return nil, err
		}
	}
	if orig.state == originalFailed {
		return nil, orig.err
	}
	confirmed := orig.confirms(req.version)

	key := variantKey(req, gen)
	if v, ok := a.variants.Get(key); ok && v.renderedFrom(orig) {
		a.variantLookups.count(true)
		return versionAnswer(v, "HIT", confirmed), nil
	}
	a.variantLookups.count(false)
	if v, ok := a.sharedVariant(ctx, req, gen, key); ok && v.renderedFrom(orig) {
		return versionAnswer(v, "HIT", confirmed), nil
	}
	v, _, err := a.renders.Do(ctx, key, func(ctx context.Context) (*variant, error) {
		if v, ok := a.variants.Get(key); ok && v.renderedFrom(orig) {
			return v, nil // rendered by a flight that ended since the lookup
		}
		return a.renderFrom(ctx, req, gen, key, orig)
	})
	if err != nil {
		return nil, err
	}
	return versionAnswer(v, "MISS", confirmed), nil
}

func versionAnswer(v *variant, cache string, confirmed bool) *answer {
	if v.state == variantStale {
		cache = "STALE"
	}
	return &answer{v: v, cache: cache, unconfirmed: !confirmed}
}

// checkVersion asks the upstream for the original on behalf of a token not
// confirmed for it. Concurrent checks and fetches of one original collapse
// into one; a check that finds the token confirmed, or the user checked
// within the interval, by a flight that ended meanwhile, or by another
// replica through the shared tier, asks nothing.
func (a *avatars) checkVersion(ctx context.Context, req *avatarRequest, gen uint64, okey string) (*original, error) {
	o, _, err := a.fetches.Do(ctx, okey, func(ctx context.Context) (*original, error) {
		cached, _ := a.originals.Get(okey)
		if cached.confirms(req.version) || a.checkedRecently(cached) {
			return cached, nil
		}
		if shared, ok := a.sharedOriginal(ctx, req, gen, okey); ok {
			if shared.confirms(req.version) || a.checkedRecently(shared) {
				return shared, nil
			}
			cached = shared
		}
		return a.fetch(ctx, req, gen, okey, cached, req.version)
	})
	return o, err
}

// checkedRecently reports whether a version token asked the upstream for o
// less than the interval ago.
func (a *avatars) checkedRecently(o *original) bool {
	return o != nil && !o.checked.IsZero() && a.now().Sub(o.checked) < a.versionInterval
}

// confirms reports whether token was confirmed for o by an answer of the
// upstream.
func (o *original) confirms(token string) bool {
	return o != nil && o.state != originalFailed && slices.Contains(o.tokens, token)
}

// withToken returns tokens with token first, keeping at most tokensKept.
func withToken(tokens []string, token string) []string {
	if slices.Contains(tokens, token) {
		return tokens
	}
	next := make([]string, 0, min(len(tokens)+1, tokensKept))
	next = append(next, token)
	return append(next, tokens[:min(len(tokens), tokensKept-1)]...)
}

// renderedFrom reports whether v is what orig renders to for its request.
func (v *variant) renderedFrom(o *original) bool {
	switch o.state {
	case originalMissing:
		return v.missing()
	case originalFresh, originalStale:
		return !v.missing() && v.originalHash == o.hash
	}
	return false
}
