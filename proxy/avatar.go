package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/avatarproxy/avatarproxy/cache"
	"github.com/avatarproxy/avatarproxy/metrics"
	"github.com/avatarproxy/avatarproxy/placeholder"
	"github.com/avatarproxy/avatarproxy/resize"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// original is a user's avatar as the upstream sent it, or the fact that the
// user has none.
type original struct {
	body       []byte
	hash       string // identifies body's content
	validators upstream.Validators
	notFound   bool
	// unusable says why body cannot be rendered, once a resize has failed,
	// so that every size does not try again until the upstream is asked anew.
	unusable error
	// staleBecause is set on a copy served past its freshness because the
	// upstream failed; it names the failure.
	staleBecause string
	// failed is the error of a fetch that had no good copy to fall back on,
	// remembered briefly so that one broken avatar asked for again and again
	// does not hammer the upstream (or trip its circuit breaker for all).
	failed  error
	expires time.Time
}

// good reports whether o holds an image worth rendering or revalidating.
func (o *original) good() bool {
	return o != nil && !o.notFound && o.unusable == nil && o.failed == nil
}

// variant is one rendered avatar, ready to send.
type variant struct {
	body        []byte
	contentType string
	etag        string
	source      string // hash of the original it was rendered from; "" for defaults
	negative    bool   // the user has no avatar: this is the d default
	noAvatar404 bool   // ... and d=404 asked for no image at all
	stale       bool   // rendered from a stale original because the upstream failed
	expires     time.Time
}

// recentVersions are the version tokens lately seen for a user.
type recentVersions struct{ tokens []string }

const (
	// keepStale is how long entries outlive their freshness, to be served
	// when the upstream fails (the stale-if-error window we promise).
	keepStale = 24 * time.Hour
	// retryFailed is how long a failed revalidation waits before the next.
	retryFailed = 10 * time.Second
	// versionsKept bounds the version tokens remembered per user, so that
	// clients holding a few older URLs do not purge the user on each request.
	versionsKept = 4
)

// answer is what the avatar pipeline produced for a request.
type answer struct {
	v        *variant
	cache    string // X-Cache: HIT, MISS or STALE
	fallback string // X-Avatar-Fallback: why the default was served instead
}

// avatars is the pipeline behind the avatar face: cache, fetch, resize.
type avatars struct {
	log     *slog.Logger
	metrics *metrics.Metrics
	resizer *resize.Resizer
	gens    cache.Generations
	// invalidate drops every cached copy of a user, here and in CDNs.
	invalidate func(ctx context.Context, upstream, userID, source string)
	variants   *cache.Tier[variant]
	originals  *cache.Tier[original]
	versions   *cache.Tier[recentVersions]
	renders    *cache.Group[*variant]
	// revalidating holds the keys of variants being refreshed now.
	revalidating sync.Map
	fetches      *cache.Group[*original]
	ttl          time.Duration
	negTTL       time.Duration
	quality      int
	now          func() time.Time
}

// userKey identifies a user of an upstream in the generation store.
func userKey(upstream, userID string) string { return upstream + "\x00" + userID }

func originalKey(req *avatarRequest, gen uint64) string {
	return userKey(req.upstream.name, req.userID) + "\x00" + strconv.FormatUint(gen, 10)
}

func variantKey(req *avatarRequest, gen uint64) string {
	return originalKey(req, gen) + "\x00" + strconv.Itoa(req.edge) + "\x00" + string(req.format) +
		"\x00" + req.crop + "\x00" + req.fallback
}

// get serves a request: from the variant cache when it can, else by
// fetching (or reusing) the original and resizing it, else a fallback.
func (a *avatars) get(ctx context.Context, req *avatarRequest) (*answer, error) {
	user := userKey(req.upstream.name, req.userID)
	if req.version != "" && a.newVersion(user, req.version) {
		a.invalidate(ctx, req.upstream.name, req.userID, "version")
	}
	gen := a.gens.Get(user)
	key := variantKey(req, gen)

	cached, ok := a.variants.Get(key)
	a.count(metrics.TierVariant, ok)
	if ok && !cached.stale && a.now().Before(cached.expires) {
		return &answer{v: cached, cache: "HIT"}, nil
	}
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
	case err == nil && v.stale:
		return &answer{v: v, cache: "STALE"}, nil
	case err == nil:
		return &answer{v: v, cache: "MISS"}, nil
	}
	reason := fallbackReason(err)
	if reason == "" {
		return nil, err
	}
	a.log.Warn("serving the default avatar", "upstream", req.upstream.name, "reason", reason, "err", err)
	d, err := a.defaultImage(ctx, req, "")
	if err != nil {
		return nil, err
	}
	return &answer{v: d, cache: "MISS", fallback: reason}, nil
}

// newVersion records a version token and reports whether it is new for the
// user, which means the avatar changed since the URLs we cached.
func (a *avatars) newVersion(user, token string) bool {
	seen, _ := a.versions.Get(user)
	if seen != nil && slices.Contains(seen.tokens, token) {
		return false
	}
	next := &recentVersions{tokens: []string{token}}
	if seen != nil {
		next.tokens = append(next.tokens, seen.tokens[:min(len(seen.tokens), versionsKept-1)]...)
	}
	a.versions.Set(user, next, a.ttl+keepStale)
	return true
}

// render makes the variant for key from the original, and caches it.
func (a *avatars) render(ctx context.Context, req *avatarRequest, gen uint64, key string) (*variant, error) {
	orig, err := a.original(ctx, req, gen)
	if err != nil {
		return nil, err
	}
	var v *variant
	switch {
	case orig.notFound:
		d, err := a.defaultImage(ctx, req, req.fallback)
		if err != nil {
			return nil, err
		}
		neg := *d
		neg.negative = true
		v = &neg
	case orig.unusable != nil:
		return nil, orig.unusable
	default:
		v, err = a.resizeOriginal(ctx, req, orig)
		if fallbackReason(err) != "" {
			a.markUnusable(req, gen, orig, err)
		}
		if err != nil {
			return nil, err
		}
	}
	v.expires = orig.expires
	v.stale = orig.staleBecause != ""
	a.variants.Set(key, v, a.ttl+keepStale)
	return v, nil
}

func (a *avatars) resizeOriginal(ctx context.Context, req *avatarRequest, orig *original) (*variant, error) {
	body, format, err := a.resizer.Resize(ctx, orig.body, resize.Options{
		Edge: req.edge, Format: req.format, Quality: a.quality, Attention: req.crop == "attention",
	})
	if err != nil {
		return nil, err
	}
	return newVariant(body, format, orig.hash), nil
}

func newVariant(body []byte, format resize.Format, source string) *variant {
	sum := sha256.Sum256(body)
	return &variant{
		body:        body,
		contentType: format.ContentType(),
		etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		source:      source,
	}
}

// markUnusable remembers that an original cannot be rendered, so the next
// sizes fall back at once instead of decoding it again.
func (a *avatars) markUnusable(req *avatarRequest, gen uint64, orig *original, err error) {
	bad := *orig
	bad.body = nil
	bad.unusable = err
	a.originals.Set(originalKey(req, gen), &bad, a.ttl+keepStale)
}

// original returns the user's original: cached while fresh, else fetched
// (conditionally when a stale copy has validators), with concurrent
// fetches of one original collapsed into one.
func (a *avatars) original(ctx context.Context, req *avatarRequest, gen uint64) (*original, error) {
	key := originalKey(req, gen)
	cached, ok := a.originals.Get(key)
	a.count(metrics.TierOriginal, ok)
	if ok && a.now().Before(cached.expires) {
		if cached.failed != nil {
			return nil, cached.failed
		}
		return cached, nil
	}
	o, _, err := a.fetches.Do(ctx, key, func(ctx context.Context) (*original, error) {
		return a.fetch(ctx, req, key, cached)
	})
	return o, err
}

func (a *avatars) fetch(ctx context.Context, req *avatarRequest, key string, cached *original) (*original, error) {
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
		fresh.staleBecause = ""
		fresh.expires = now.Add(a.ttl)
		o = &fresh
	case err == nil && !got.NotModified:
		sum := sha256.Sum256(got.Body)
		o = &original{
			body:       got.Body,
			hash:       base64.RawURLEncoding.EncodeToString(sum[:18]),
			validators: got.Validators,
			expires:    now.Add(a.ttl),
		}
	case errors.Is(err, upstream.ErrNotFound):
		o = &original{notFound: true, expires: now.Add(a.negTTL)}
	case err == nil:
		// 304 to a request that sent no validators: the upstream is broken.
		err = &upstream.Error{Upstream: req.upstream.name, Reason: "unexpected-304"}
		fallthrough
	default:
		reason := fallbackReason(err)
		if reason == "" {
			return nil, err
		}
		if !cached.good() {
			a.originals.Set(key, &original{failed: err, expires: now.Add(retryFailed)}, retryFailed)
			return nil, err
		}
		// The last good copy, served stale for a while before asking again.
		stale := *cached
		stale.staleBecause = reason
		stale.expires = now.Add(retryFailed)
		o = &stale
	}
	a.originals.Set(key, o, a.ttl+keepStale)
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
		if orig.good() && orig.hash == stale.source && !stale.negative {
			renewed := *stale
			renewed.expires = orig.expires
			renewed.stale = orig.staleBecause != ""
			a.variants.Set(key, &renewed, a.ttl+keepStale)
			return &renewed, nil
		}
		return a.render(ctx, req, gen, key)
	})
	if err != nil {
		a.log.Info("revalidation failed; still serving the stale copy", "upstream", req.upstream.name, "err", err)
	}
}

// defaultImage renders the default avatar of kind (req.fallback when
// empty) at the request's edge and format. Renders that do not depend on
// the user are shared by all users.
func (a *avatars) defaultImage(ctx context.Context, req *avatarRequest, kind string) (*variant, error) {
	if kind == "" {
		kind = req.fallback
	}
	if kind == "404" {
		return &variant{noAvatar404: true}, nil
	}
	seed := req.upstream.name + "/" + req.userID
	name := ""
	if kind == "initials" {
		name = a.displayName(ctx, req)
		if name == "" {
			kind = "identicon"
		}
	}
	key := "default\x00" + kind + "\x00" + strconv.Itoa(req.edge) + "\x00" + string(req.format)
	switch kind {
	case "identicon":
		key += "\x00" + seed
	case "initials":
		key += "\x00" + seed + "\x00" + name
	}
	if v, ok := a.variants.Get(key); ok {
		return v, nil
	}
	var src []byte
	switch kind {
	case "identicon":
		src = placeholder.Identicon(seed)
	case "initials":
		src = placeholder.Initials(name, seed)
	case "blank":
		src = placeholder.Blank()
	default:
		src = placeholder.MysteryPerson()
	}
	body, format, err := a.resizer.Resize(ctx, src, resize.Options{Edge: req.edge, Format: req.format, Quality: a.quality})
	if err != nil {
		return nil, err
	}
	v := newVariant(body, format, "")
	a.variants.Set(key, v, a.ttl)
	return v, nil
}

// displayName asks the upstream for the user's name, for initials; "" when
// it cannot tell.
func (a *avatars) displayName(ctx context.Context, req *avatarRequest) string {
	namer, ok := req.upstream.Source.(upstream.Namer)
	if !ok {
		return ""
	}
	name, err := namer.DisplayName(ctx, req.userID)
	if err != nil {
		a.log.Info("no display name for initials", "upstream", req.upstream.name, "err", err)
		return ""
	}
	return name
}

func (a *avatars) count(tier string, hit bool) {
	if hit {
		a.metrics.CacheHits.WithLabelValues(tier).Inc()
	} else {
		a.metrics.CacheMisses.WithLabelValues(tier).Inc()
	}
}
