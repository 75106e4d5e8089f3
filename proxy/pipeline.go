package proxy

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/avatarproxy/avatarproxy/cache"
	"github.com/avatarproxy/avatarproxy/metrics"
	"github.com/avatarproxy/avatarproxy/rediscache"
	"github.com/avatarproxy/avatarproxy/resize"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// originalState is what is known of a user's original.
type originalState int

const (
	// originalFresh holds the image as the upstream last sent it.
	originalFresh originalState = iota
	// originalStale holds the last good image, served past its freshness
	// because the upstream failed (the failure is in err).
	originalStale
	// originalMissing means the upstream has no avatar for the user.
	originalMissing
	// originalUnusable means the image cannot be rendered (why is in err),
	// remembered so that every size does not try again until the upstream
	// is asked anew.
	originalUnusable
	// originalFailed is a fetch that had no good copy to fall back on (the
	// failure is in err), remembered briefly so that one broken avatar
	// asked for again and again does not hammer the upstream, or trip its
	// circuit breaker for all.
	originalFailed
)

// original is a user's avatar as the upstream sent it, or what stands in
// its place.
type original struct {
	state      originalState
	body       []byte
	hash       string // identifies body's content
	validators upstream.Validators
	err        error // why, for originalStale, originalUnusable and originalFailed
	expires    time.Time
	// tokens are the version tokens confirmed for this original, newest
	// first, at most tokensKept: a URL carrying one of them is served from
	// it without asking the upstream.
	tokens []string
	// checked is when a version token last made the proxy ask the upstream.
	checked time.Time
}

// good reports whether o holds an image worth rendering or revalidating.
func (o *original) good() bool {
	return o != nil && (o.state == originalFresh || o.state == originalStale)
}

// variantState is what a rendered variant stands for.
type variantState int

const (
	// variantFresh is the user's avatar rendered from a fresh original.
	variantFresh variantState = iota
	// variantStale is rendered from a stale original: the upstream failed.
	variantStale
	// variantMissing is the requested default for a user without an avatar.
	variantMissing
	// variantNoImage is d=404 for a user without an avatar: no image at all.
	variantNoImage
	// variantDefault is a default image rendered for anyone, cached under
	// its own key and shared by users.
	variantDefault
)

// variant is one rendered avatar, ready to send.
type variant struct {
	state        variantState
	body         []byte
	contentType  string
	etag         string
	originalHash string // hash of the original it was rendered from; "" for defaults
	expires      time.Time
	// headers are made once, when the variant is made, so that a hit only
	// assigns them.
	headers variantHeaders
}

// originalSize is what an original costs in its tier: its body, the
// version tokens confirmed for it, and the text of a remembered failure,
// which names the user id a client chose.
func originalSize(o *original) int {
	n := len(o.body)
	for _, t := range o.tokens {
		n += len(t) + 16
	}
	if o.err != nil {
		n += len(o.err.Error())
	}
	return n
}

// missing reports whether v stands for a user without an avatar.
func (v *variant) missing() bool { return v.state == variantMissing || v.state == variantNoImage }

const (
	// keepStale is how long entries outlive their freshness, to be served
	// when the upstream fails (the stale-if-error window we promise).
	keepStale = 24 * time.Hour
	// retryFailed is how long a failed revalidation waits before the next.
	retryFailed = 10 * time.Second
	// tokensKept bounds the version tokens confirmed per original, so that
	// a client cycling tokens costs bounded bytes in the original's entry.
	tokensKept = 8
	// generationShare is the share of cache.max_bytes given to generation
	// records, taken out of the tiers.
	generationShare = 64
)

// answer is what the avatar pipeline produced for a request.
type answer struct {
	v              *variant
	cache          string // X-Cache: HIT, MISS or STALE
	fallbackReason string // X-Avatar-Fallback: why the default was served instead
	// unconfirmed marks a versioned answer from an original not yet
	// confirmed for the URL's token: it must not be cached as immutable.
	unconfirmed bool
}

// avatars is the pipeline behind the avatar face: cache, fetch, resize.
type avatars struct {
	log     *slog.Logger
	metrics *metrics.Metrics
	resizer *resize.Resizer
	gens    cache.Generations
	// shared is the Redis tier behind variants and originals, and its
	// generations; nil without cache.redis_url.
	shared    *rediscache.Shared
	variants  *cache.Tier[variant]
	originals *cache.Tier[original]
	names     *displayNames
	renders   *cache.Group[*variant]
	// keys lends the buffers hit lookups build their keys in.
	keys keyBuffers
	// variantLookups and originalLookups count hits and misses of a tier.
	variantLookups, originalLookups tierLookups
	// revalidating holds the keys of variants being refreshed now.
	revalidating sync.Map
	fetches      *cache.Group[*original]
	ttl          time.Duration
	negTTL       time.Duration
	// versionInterval spaces the upstream checks new version tokens cause.
	versionInterval time.Duration
	// quality and avifQuality are the encoders' qualities: AVIF has its
	// own, as its scale is not JPEG's and WebP's.
	quality, avifQuality int
	now                  func() time.Time
}

// qualityFor is the encoder quality of format f.
func (a *avatars) qualityFor(f resize.Format) int {
	if f == resize.AVIF {
		return a.avifQuality
	}
	return a.quality
}

// userKey identifies a user of an upstream in the generation store.
func userKey(upstream, userID string) string { return upstream + "\x00" + userID }

// newAvatars builds the pipeline for the server's configuration: its cache
// tiers and their gauges, the resize pool unless opt shares one, the
// generation store and the groups that collapse concurrent work.
func (s *Server) newAvatars(opt Options) (*avatars, error) {
	c := s.cfg.Cache
	m := s.metrics
	evicted := m.CacheEvictions.Inc
	genBytes := int64(c.MaxBytes) / generationShare
	tierBytes := int64(c.MaxBytes) - genBytes
	// Variants are what clients ask for; originals only feed new sizes.
	variants, err := cache.NewTier(cache.TierConfig[variant]{
		MaxBytes: tierBytes * 3 / 4, Size: func(v *variant) int { return len(v.body) }, OnEvict: evicted,
	})
	if err != nil {
		return nil, fmt.Errorf("variant cache: %w", err)
	}
	originals, err := cache.NewTier(cache.TierConfig[original]{
		MaxBytes: tierBytes / 4, Size: originalSize, OnEvict: evicted,
	})
	if err != nil {
		return nil, fmt.Errorf("original cache: %w", err)
	}
	// The slowest honest fetch plus a resize bounds the collapsed work.
	var longest time.Duration
	for _, u := range s.cfg.Upstreams {
		_, _, total := u.Timeouts()
		longest = max(longest, total)
	}
	names, err := newDisplayNames(s.log, max(int64(c.MaxBytes)/100, 1<<20), c.TTL.D(), c.NegativeTTL.D(), longest+5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("display name cache: %w", err)
	}
	s.tiers = append(s.tiers, variants, originals, names)
	m.GaugeFunc("avatarproxy_cache_size_bytes", "Approximate bytes held by a cache tier.",
		prometheus.Labels{"tier": metrics.TierVariant}, func() float64 { return float64(variants.Bytes()) })
	m.GaugeFunc("avatarproxy_cache_size_bytes", "Approximate bytes held by a cache tier.",
		prometheus.Labels{"tier": metrics.TierOriginal}, func() float64 { return float64(originals.Bytes()) })

	rz := opt.Resizer
	if rz == nil {
		rz = resize.New(resize.PoolConfig{
			Workers:    s.cfg.Resize.Workers,
			Queue:      s.cfg.Resize.Queue,
			QueueBytes: int64(s.cfg.Resize.QueueBytes),
			Limits: resize.Limits{
				MaxSourceBytes:  int64(s.cfg.Resize.MaxSourceBytes),
				MaxSourcePixels: s.cfg.Resize.MaxSourcePixels,

				MaxSourceDecodedBytes: int64(s.cfg.Resize.MaxSourceDecodedBytes),
			},
			Observe: func(f resize.Format, d time.Duration) {
				m.ResizeDuration.WithLabelValues(string(f)).Observe(d.Seconds())
			},
		})
	}
	m.GaugeFunc("avatarproxy_resize_running", "Resizes running now.", nil,
		func() float64 { running, _ := rz.Stats(); return float64(running) })
	m.GaugeFunc("avatarproxy_resize_queued", "Resizes waiting for a worker; beyond resize.queue requests get 503.", nil,
		func() float64 { _, queued := rz.Stats(); return float64(queued) })
	var shared *rediscache.Shared
	if c.RedisURL != "" {
		shared, err = rediscache.Connect(rediscache.Config{
			URL: c.RedisURL, Cluster: c.RedisCluster, Timeout: c.RedisTimeout.D(),
			MaxValueBytes: int(c.RedisMaxValueBytes), Keep: c.TTL.D() + keepStale,
			Logger: s.log, Metrics: m,
		})
		if err != nil {
			return nil, err
		}
		s.tiers = append(s.tiers, shared)
	}
	gens := opt.Generations
	switch {
	case gens != nil:
	case shared != nil:
		gens = shared.Generations
	default:
		gens = cache.NewLocalGenerations(c.TTL.D()+keepStale, genBytes)
	}
	return &avatars{
		log:             s.log,
		metrics:         m,
		resizer:         rz,
		gens:            gens,
		shared:          shared,
		variants:        variants,
		originals:       originals,
		names:           names,
		renders:         cache.NewGroup[*variant](longest + 30*time.Second),
		fetches:         cache.NewGroup[*original](longest + 5*time.Second),
		keys:            newKeyBuffers(),
		variantLookups:  newTierLookups(m, metrics.TierVariant),
		originalLookups: newTierLookups(m, metrics.TierOriginal),
		ttl:             c.TTL.D(),
		negTTL:          c.NegativeTTL.D(),

		versionInterval: c.VersionInterval.D(),
		quality:         s.cfg.Resize.Quality,
		avifQuality:     s.cfg.Resize.AVIFQuality,
		now:             time.Now,
	}, nil
}
