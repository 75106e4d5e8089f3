package proxy

import (
	"context"
	"strconv"

	"github.com/avatarproxy/avatarproxy/rediscache"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// The shared Redis tier, when cache.redis_url is set, sits behind the
// in-memory tiers: what they miss is asked of Redis before the upstream,
// and what they keep is written there for the other replicas. Only what
// every replica may serve as is goes there: fresh originals (with the
// version tokens confirmed for them) and the fact that a user has none,
// and the variants rendered from them. Failures and stale copies stay
// local.

func sharedOriginalName(gen uint64) string { return "o:" + strconv.FormatUint(gen, 10) }

func sharedVariantName(req *avatarRequest, gen uint64) string {
	return "v:" + strconv.FormatUint(gen, 10) + ":" + strconv.Itoa(req.edge) + ":" + string(req.format) +
		":" + req.crop + ":" + req.whenMissing
}

// sharedOriginal returns the original Redis holds for the request's user
// under gen, and keeps it in memory.
func (a *avatars) sharedOriginal(ctx context.Context, req *avatarRequest, gen uint64, key string) (*original, bool) {
	if a.shared == nil {
		return nil, false
	}
	e, ok := a.shared.Store.Get(ctx, userKey(req.upstream.name, req.userID), sharedOriginalName(gen))
	if !ok {
		return nil, false
	}
	var o *original
	switch {
	case e.State&rediscache.NotFound != 0:
		o = &original{state: originalMissing, expires: e.Expires}
	case len(e.Body) > 0:
		o = &original{
			state:      originalFresh,
			body:       e.Body,
			hash:       e.Source,
			validators: upstream.Validators{ETag: e.UpstreamETag, LastModified: e.LastModified},
			expires:    e.Expires,
		}
	default:
		return nil, false
	}
	o.tokens, o.checked = e.Tokens[:min(len(e.Tokens), tokensKept)], e.Checked
	a.originals.Set(key, o, a.ttl+keepStale)
	return o, true
}

// shareOriginal writes a fresh original, or the fact that there is none.
func (a *avatars) shareOriginal(ctx context.Context, req *avatarRequest, gen uint64, o *original) {
	if a.shared == nil {
		return
	}
	var e *rediscache.Entry
	switch o.state {
	case originalFresh:
		e = &rediscache.Entry{Body: o.body, Source: o.hash, UpstreamETag: o.validators.ETag,
			LastModified: o.validators.LastModified, Expires: o.expires}
	case originalMissing:
		e = &rediscache.Entry{State: rediscache.NotFound, Expires: o.expires}
	default:
		return
	}
	e.Tokens, e.Checked = o.tokens, o.checked
	a.shared.Store.Set(ctx, userKey(req.upstream.name, req.userID), sharedOriginalName(gen), e, a.ttl+keepStale)
}

// sharedVariant returns the variant Redis holds for the request under
// gen, and keeps it in memory.
func (a *avatars) sharedVariant(ctx context.Context, req *avatarRequest, gen uint64, key string) (*variant, bool) {
	if a.shared == nil {
		return nil, false
	}
	e, ok := a.shared.Store.Get(ctx, userKey(req.upstream.name, req.userID), sharedVariantName(req, gen))
	if !ok {
		return nil, false
	}
	v := &variant{state: variantFresh, body: e.Body, contentType: e.ContentType, etag: e.ETag,
		originalHash: e.Source, expires: e.Expires}
	switch {
	case e.State&rediscache.NoAvatar404 != 0:
		v = &variant{state: variantNoImage, expires: e.Expires}
	case e.State&rediscache.Negative != 0:
		v.state = variantMissing
	}
	if v.state != variantNoImage && (len(v.body) == 0 || v.etag == "" || v.contentType == "") {
		return nil, false
	}
	v.headers = newVariantHeaders(v)
	v.headers.purgeTag = purgeTagHeader(req)
	a.variants.Set(key, v, a.ttl+keepStale)
	return v, true
}

// shareVariant writes a variant every replica may serve as is.
func (a *avatars) shareVariant(ctx context.Context, req *avatarRequest, gen uint64, v *variant) {
	if a.shared == nil {
		return
	}
	e := &rediscache.Entry{Body: v.body, ContentType: v.contentType, ETag: v.etag, Source: v.originalHash, Expires: v.expires}
	switch v.state {
	case variantFresh:
	case variantMissing:
		e.State = rediscache.Negative
	case variantNoImage:
		e = &rediscache.Entry{State: rediscache.NoAvatar404, Expires: v.expires}
	default:
		return
	}
	a.shared.Store.Set(ctx, userKey(req.upstream.name, req.userID), sharedVariantName(req, gen), e, a.ttl+keepStale)
}
