package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/avatarproxy/avatarproxy/failure"
	"github.com/avatarproxy/avatarproxy/placeholder"
	"github.com/avatarproxy/avatarproxy/resize"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// get serves a request: from the variant cache when it can, else by
// fetching (or reusing) the original and resizing it, else a fallback.
// A fresh hit allocates nothing: its keys are built in a lent buffer and
// req stays with the caller; the other paths take their own copy of it.
func (a *avatars) get(ctx context.Context, req *avatarRequest) (answer, error) {
	kb := a.keys.get()
	kb.appendUser(req)
	gen := a.gens.Get(kb.view()) // the generation store only looks the key up
	kb.appendGen(gen)
	if req.version != "" {
		ans, ok := a.versionedHit(req, kb)
		a.keys.put(kb)
		if ok {
			return ans, nil
		}
		return deref(a.getVersioned(ctx, *req, gen))
	}
	kb.appendRender(req)

	cached, ok := a.variants.Get(kb.view())
	a.variantLookups.count(ok)
	if !ok && a.shared != nil {
		cached, ok = a.sharedVariant(ctx, req, gen, string(kb.b))
	}
	if ok && cached.state != variantStale && a.now().Before(cached.expires) {
		a.keys.put(kb)
		return answer{v: cached, cache: "HIT"}, nil
	}
	key := string(kb.b)
	a.keys.put(kb)
	return deref(a.getSlow(ctx, *req, gen, key, cached, ok))
}

func deref(ans *answer, err error) (answer, error) {
	if err != nil {
		return answer{}, err
	}
	return *ans, nil
}

// getVersioned serves a request that carries a version token.
func (a *avatars) getVersioned(ctx context.Context, r avatarRequest, gen uint64) (*answer, error) {
	req := &r
	ans, err := a.getVersion(ctx, req, gen)
	if err != nil {
		return a.fallback(ctx, req, gen, err)
	}
	return ans, nil
}

// getSlow serves what the variant cache could not: a stale entry, or none.
func (a *avatars) getSlow(ctx context.Context, r avatarRequest, gen uint64, key string, cached *variant, ok bool) (*answer, error) {
	req := &r
	if ok {
		// One refresh per entry: a popular stale avatar must not start a
		// goroutine per request while its upstream is slow.
		if _, running := a.revalidating.LoadOrStore(key, struct{}{}); !running {
			go func() {
				defer a.revalidating.Delete(key)
				a.revalidate(req, gen, key, cached)
			}()
		}
		return &answer{v: cached, cache: "STALE"}, nil
	}

	v, _, err := a.renders.Do(ctx, key, func(ctx context.Context) (*variant, error) {
		return a.render(ctx, req, gen, key)
	})
	switch {
	case err == nil && v.state == variantStale:
		return &answer{v: v, cache: "STALE"}, nil
	case err == nil:
		return &answer{v: v, cache: "MISS"}, nil
	}
	return a.fallback(ctx, req, gen, err)
}

// fallback answers with the default image when err is a failure a default
// papers over, else returns err.
func (a *avatars) fallback(ctx context.Context, req *avatarRequest, gen uint64, err error) (*answer, error) {
	reason := fallbackReason(err)
	if reason == "" {
		return nil, err
	}
	a.log.Warn("serving the default avatar", "upstream", req.upstream.name, "reason", reason, "err", err)
	d, err := a.defaultImage(ctx, req, gen)
	if err != nil {
		return nil, err
	}
	return &answer{v: d, cache: "MISS", fallbackReason: reason}, nil
}

// render makes the variant for key from the original, and caches it.
func (a *avatars) render(ctx context.Context, req *avatarRequest, gen uint64, key string) (*variant, error) {
	orig, err := a.original(ctx, req, gen)
	if err != nil {
		return nil, err
	}
	return a.renderFrom(ctx, req, gen, key, orig)
}

// renderFrom makes the variant for key from orig, and caches it where the
// next request for key finds it.
func (a *avatars) renderFrom(ctx context.Context, req *avatarRequest, gen uint64, key string, orig *original) (*variant, error) {
	var v *variant
	var err error
	switch orig.state {
	case originalMissing:
		d, err := a.defaultImage(ctx, req, gen)
		if err != nil {
			return nil, err
		}
		missing := *d
		if missing.state != variantNoImage {
			missing.state = variantMissing
		}
		v = &missing
	case originalUnusable, originalFailed:
		return nil, orig.err
	default:
		v, err = a.resizeOriginal(ctx, req, orig)
		if fallbackReason(err) != "" {
			a.markUnusable(req, gen, orig, err)
		}
		if err != nil {
			return nil, err
		}
		if orig.state == originalStale {
			v.state = variantStale
		}
	}
	v.expires = orig.expires
	v.headers.purgeTag = purgeTagHeader(req)
	a.variants.Set(key, v, a.ttl+keepStale)
	a.shareVariant(ctx, req, gen, v)
	// Requests that missed while this ran must find it, not render again.
	a.variants.Wait()
	return v, nil
}

func (a *avatars) resizeOriginal(ctx context.Context, req *avatarRequest, orig *original) (*variant, error) {
	body, format, err := a.resizer.Resize(ctx, orig.body, resize.Options{
		Edge: req.edge, Format: req.format, Quality: a.qualityFor(req.format), Attention: req.crop == "attention",
	})
	if err != nil {
		return nil, err
	}
	return newVariant(variantFresh, body, format, orig.hash), nil
}

func newVariant(state variantState, body []byte, format resize.Format, originalHash string) *variant {
	sum := sha256.Sum256(body)
	v := &variant{
		state:        state,
		body:         body,
		contentType:  format.ContentType(),
		etag:         `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		originalHash: originalHash,
	}
	v.headers = newVariantHeaders(v)
	return v
}

// markUnusable remembers that an original cannot be rendered, so the next
// sizes fall back at once instead of decoding it again.
func (a *avatars) markUnusable(req *avatarRequest, gen uint64, orig *original, err error) {
	bad := *orig
	bad.state = originalUnusable
	bad.body = nil
	bad.err = err
	a.originals.Set(originalKey(req, gen), &bad, a.ttl+keepStale)
}

// cachedOriginal looks the user's original up in memory, then in the
// shared tier.
func (a *avatars) cachedOriginal(ctx context.Context, req *avatarRequest, gen uint64, key string) (*original, bool) {
	o, ok := a.originals.Get(key)
	a.originalLookups.count(ok)
	if !ok {
		o, ok = a.sharedOriginal(ctx, req, gen, key)
	}
	return o, ok
}

// outcome is what a fresh cached original answers: itself, or the failure
// it remembers.
func (o *original) outcome() (*original, error) {
	if o.state == originalFailed {
		return nil, o.err
	}
	return o, nil
}

// original returns the user's original: cached while fresh, else fetched
// (conditionally when a stale copy has validators), with concurrent
// fetches of one original collapsed into one.
func (a *avatars) original(ctx context.Context, req *avatarRequest, gen uint64) (*original, error) {
	key := originalKey(req, gen)
	cached, ok := a.cachedOriginal(ctx, req, gen, key)
	if ok && a.now().Before(cached.expires) {
		return cached.outcome()
	}
	o, _, err := a.fetches.Do(ctx, key, func(ctx context.Context) (*original, error) {
		// A fetch that ended since the lookup above left its result.
		if again, ok := a.originals.Get(key); ok && a.now().Before(again.expires) {
			return again.outcome()
		}
		return a.fetch(ctx, req, gen, key, cached, "")
	})
	return o, err
}

// fetch asks the upstream for the original, conditionally when cached has
// validators, and caches the outcome. A non-empty token is the version
// token that asked: an answer confirms it for the original.
func (a *avatars) fetch(ctx context.Context, req *avatarRequest, gen uint64, key string, cached *original, token string) (*original, error) {
	var cond upstream.Validators
	if cached.good() {
		cond = cached.validators
	}
	got, err := req.upstream.Fetch(ctx, req.userID, cond)
	now := a.now()
	var o *original
	switch {
	case err == nil && got.NotModified && cached.good():
		fresh := *cached
		fresh.state = originalFresh
		fresh.err = nil
		fresh.expires = now.Add(a.ttl)
		o = &fresh
	case err == nil && !got.NotModified:
		sum := sha256.Sum256(got.Body)
		o = &original{
			state:      originalFresh,
			body:       got.Body,
			hash:       base64.RawURLEncoding.EncodeToString(sum[:18]),
			validators: got.Validators,
			expires:    now.Add(a.ttl),
		}
	case errors.Is(err, upstream.ErrNotFound):
		o = &original{state: originalMissing, expires: now.Add(a.negTTL)}
	case err == nil:
		// 304 to a request that sent no validators: the upstream is broken.
		err = &upstream.Error{Upstream: req.upstream.name, Class: failure.Unexpected304, Reason: failure.Unexpected304.Name}
		fallthrough
	default:
		reason := fallbackReason(err)
		if reason == "" {
			return nil, err
		}
		if !cached.good() {
			failed := &original{state: originalFailed, err: err, expires: now.Add(retryFailed)}
			if token != "" {
				failed.checked = now
			}
			a.originals.Set(key, failed, retryFailed)
			a.originals.Wait()
			return nil, err
		}
		// The last good copy, served stale for a while before asking again.
		stale := *cached
		stale.state = originalStale
		stale.err = err
		stale.expires = now.Add(retryFailed)
		o = &stale
	}
	o.tokens, o.checked = nil, time.Time{}
	if cached != nil {
		o.tokens, o.checked = cached.tokens, cached.checked
	}
	if token != "" {
		o.checked = now
		if o.state != originalStale {
			o.tokens = withToken(o.tokens, token)
		}
	}
	a.originals.Set(key, o, a.ttl+keepStale)
	// Requests that missed while this ran must find it, not fetch again.
	a.originals.Wait()
	a.shareOriginal(ctx, req, gen, o)
	return o, nil
}

// revalidate refreshes a stale variant in the background: when the
// original has not changed the variant only gets a new lease, else it is
// rendered again.
func (a *avatars) revalidate(req *avatarRequest, gen uint64, key string, stale *variant) {
	ctx := context.Background()
	_, _, err := a.renders.Do(ctx, key, func(ctx context.Context) (*variant, error) {
		orig, err := a.original(ctx, req, gen)
		if err != nil {
			return nil, err
		}
		if orig.good() && orig.hash == stale.originalHash && !stale.missing() {
			renewed := *stale
			renewed.expires = orig.expires
			renewed.state = variantFresh
			if orig.state == originalStale {
				renewed.state = variantStale
			}
			a.variants.Set(key, &renewed, a.ttl+keepStale)
			a.shareVariant(ctx, req, gen, &renewed)
			return &renewed, nil
		}
		return a.render(ctx, req, gen, key)
	})
	if err != nil {
		a.log.Info("revalidation failed; still serving the stale copy", "upstream", req.upstream.name, "err", err)
	}
}

// defaultImage renders the default avatar the request asks for when the
// user has none (its d parameter) at the request's edge and format.
// Renders that do not depend on the user are shared by all users.
func (a *avatars) defaultImage(ctx context.Context, req *avatarRequest, gen uint64) (*variant, error) {
	style := req.whenMissing
	if style == "404" {
		return &variant{state: variantNoImage}, nil
	}
	seed := req.upstream.name + "/" + req.userID
	name := ""
	if style == "initials" {
		name = a.displayName(ctx, req, gen)
		if name == "" {
			style = "identicon"
		}
	}
	key := "default\x00" + style + "\x00" + strconv.Itoa(req.edge) + "\x00" + string(req.format)
	switch style {
	case "identicon":
		key += "\x00" + seed
	case "initials":
		key += "\x00" + seed + "\x00" + name
	}
	if v, ok := a.variants.Get(key); ok {
		return v, nil
	}
	var src []byte
	switch style {
	case "identicon":
		src = placeholder.Identicon(seed)
	case "initials":
		src = placeholder.Initials(name, seed)
	case "blank":
		src = placeholder.Blank()
	default:
		src = placeholder.MysteryPerson()
	}
	body, format, err := a.resizer.Resize(ctx, src, resize.Options{Edge: req.edge, Format: req.format, Quality: a.qualityFor(req.format)})
	if err != nil {
		return nil, err
	}
	v := newVariant(variantDefault, body, format, "")
	a.variants.Set(key, v, a.ttl)
	return v, nil
}

// displayName is the user's name, for initials; "" when the upstream
// cannot tell. Names are remembered as originals are (see displayNames).
func (a *avatars) displayName(ctx context.Context, req *avatarRequest, gen uint64) string {
	namer, ok := req.upstream.Source.(upstream.Namer)
	if !ok {
		return ""
	}
	return a.names.get(ctx, namer, req, gen)
}
