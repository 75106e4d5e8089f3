// Package proxy is avatarproxy's HTTP face: it routes requests, parses and
// validates them, serves avatars through the cache and resize pipeline, and
// answers the control and ops endpoints.
package proxy

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/avatarproxy/avatarproxy/cache"
	"github.com/avatarproxy/avatarproxy/cdnpurge"
	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/metrics"
	"github.com/avatarproxy/avatarproxy/resize"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// source is a configured upstream.
type source struct {
	upstream.Source
	name string
	cfg  config.Upstream
}

// Server serves every face of avatarproxy. Create it with New.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	sources map[string]*source
	dropin  *source
	signer  *signer
	avatars *avatars
	// Cache-Control values, fixed by the configuration.
	browserCacheControl, negativeCacheControl string
	cdn                                       *cdnpurge.Purger
	tiers                                     []interface{ Close() }
	draining                                  atomic.Bool
}

// Options are the parts of a Server that its caller owns.
type Options struct {
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Resizer runs the image work; it is shared so that one pool bounds
	// every server in the process.
	Resizer *resize.Resizer
	// Generations, when set, replaces the in-process generation store.
	Generations cache.Generations
}

// New builds a Server for a validated configuration.
func New(cfg *config.Config, opt Options) (*Server, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New()
	}
	s := &Server{
		cfg:     cfg,
		log:     opt.Logger,
		metrics: opt.Metrics,
		sources: make(map[string]*source),
		signer:  newSigner(cfg.Security),
		browserCacheControl: fmt.Sprintf("public, max-age=%d, stale-while-revalidate=60, stale-if-error=86400",
			int(cfg.Cache.BrowserTTL.D().Seconds())),
		negativeCacheControl: fmt.Sprintf("public, max-age=%d", int(cfg.Cache.NegativeTTL.D().Seconds())),
	}
	for _, u := range cfg.Upstreams {
		src, err := upstream.New(u, upstream.Options{
			MaxBytes:      int64(cfg.Resize.MaxSourceBytes),
			Observe:       s.metrics.ObserveUpstream,
			OnStateChange: s.metrics.SetCircuitOpen,
		})
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", u.Name, err)
		}
		if upstream.HasBreaker(u.Kind) {
			s.metrics.SetCircuitOpen(u.Name, false) // a breaker starts closed
		}
		s.sources[u.Name] = &source{Source: src, name: u.Name, cfg: u}
	}
	if cfg.Cache.RedisURL != "" {
		s.metrics.RedisConfigured.Set(1)
	}
	if name := cfg.DropinUpstream(); name != "" {
		s.dropin = s.sources[name]
	}

	s.cdn = cdnpurge.New(cfg.HTTP.PurgeRequests, s.log, s.metrics, nil)
	a, err := s.newAvatars(opt)
	if err != nil {
		return nil, err
	}
	s.avatars = a
	return s, nil
}

func (s *Server) newAvatars(opt Options) (*avatars, error) {
	c := s.cfg.Cache
	m := s.metrics
	evicted := m.CacheEvictions.Inc
	// Variants are what clients ask for; originals only feed new sizes.
	variants, err := cache.NewTier(cache.TierConfig[variant]{
		MaxBytes: int64(c.MaxBytes) * 3 / 4, Size: func(v *variant) int { return len(v.body) }, OnEvict: evicted,
	})
	if err != nil {
		return nil, fmt.Errorf("variant cache: %w", err)
	}
	originals, err := cache.NewTier(cache.TierConfig[original]{
		MaxBytes: int64(c.MaxBytes) / 4, Size: func(o *original) int { return len(o.body) }, OnEvict: evicted,
	})
	if err != nil {
		return nil, fmt.Errorf("original cache: %w", err)
	}
	versions, err := cache.NewTier(cache.TierConfig[recentVersions]{
		MaxBytes: max(int64(c.MaxBytes)/100, 1<<20),
		Size:     func(r *recentVersions) int { return len(r.tokens) * maxVersionLen },
	})
	if err != nil {
		return nil, fmt.Errorf("version cache: %w", err)
	}
	s.tiers = append(s.tiers, variants, originals, versions)
	m.GaugeFunc("avatarproxy_cache_size_bytes", "Approximate bytes held by a cache tier.",
		prometheus.Labels{"tier": metrics.TierVariant}, func() float64 { return float64(variants.Bytes()) })
	m.GaugeFunc("avatarproxy_cache_size_bytes", "Approximate bytes held by a cache tier.",
		prometheus.Labels{"tier": metrics.TierOriginal}, func() float64 { return float64(originals.Bytes()) })

	rz := opt.Resizer
	if rz == nil {
		rz = resize.New(resize.PoolConfig{
			Workers: s.cfg.Resize.Workers,
			Queue:   s.cfg.Resize.Queue,
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
	gens := opt.Generations
	if gens == nil {
		gens = cache.NewLocalGenerations(c.TTL.D() + keepStale)
	}
	// The slowest honest fetch plus a resize bounds the collapsed work.
	var longest time.Duration
	for _, u := range s.cfg.Upstreams {
		_, _, total := u.Timeouts()
		longest = max(longest, total)
	}
	return &avatars{
		log:        s.log,
		metrics:    m,
		resizer:    rz,
		gens:       gens,
		invalidate: s.Invalidate,
		variants:   variants,
		originals:  originals,
		versions:   versions,
		renders:    cache.NewGroup[*variant](longest + 30*time.Second),
		fetches:    cache.NewGroup[*original](longest + 5*time.Second),
		ttl:        c.TTL.D(),
		negTTL:     c.NegativeTTL.D(),
		quality:    s.cfg.Resize.Quality,
		now:        time.Now,
	}, nil
}

// Close releases the caches and waits for CDN purges under way.
func (s *Server) Close() {
	s.cdn.Close()
	for _, t := range s.tiers {
		t.Close()
	}
}

// Drain marks the server as shutting down: /readyz starts failing so that
// load balancers stop sending new work while in-flight requests finish.
func (s *Server) Drain() { s.draining.Store(true) }

// Handler returns the router of every face. When metricsOnMain is false,
// /metrics is left to MetricsHandler on a listener of its own.
func (s *Server) Handler(metricsOnMain bool) http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, name string, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(name, h))
	}
	handle("GET /avatar/{upstream}/{user}", "avatar", s.serveAvatar)
	handle("GET /proxy.php", "dropin", s.serveDropin)
	handle("POST /purge/{upstream}/{user}", "purge", s.servePurge)
	handle("POST /webhooks/{upstream}", "webhook", s.serveWebhook)
	for _, src := range s.sources {
		if p := src.cfg.PassthroughPrefix; p != "" {
			mux.Handle(p+"/", s.instrument("passthrough", s.passthrough(src).ServeHTTP))
		}
	}
	handle("GET /healthz", "healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	handle("GET /readyz", "readyz", s.serveReady)
	if metricsOnMain {
		mux.Handle("GET /metrics", s.instrument("metrics", s.MetricsHandler().ServeHTTP))
	}
	// Known paths with another method get a 405 naming the allowed ones;
	// everything else a 404. Both are counted under a fixed name.
	for path, allow := range map[string]string{
		"/avatar/{upstream}/{user}": "GET, HEAD", "/proxy.php": "GET, HEAD",
		"/purge/{upstream}/{user}": "POST", "/webhooks/{upstream}": "POST",
		"/healthz": "GET, HEAD", "/readyz": "GET, HEAD",
	} {
		handle(path, "other", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, &requestError{status: http.StatusMethodNotAllowed, msg: "method not allowed"})
		})
	}
	handle("/", "other", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &requestError{status: http.StatusNotFound, msg: "not found"})
	})
	return mux
}

// MetricsHandler serves the Prometheus metrics.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{Registry: s.metrics.Registry})
}

// instrument counts and times a handler under a fixed name, never a label
// taken from the request.
func (s *Server) instrument(name string, h http.HandlerFunc) http.Handler {
	m := s.metrics
	labels := prometheus.Labels{"handler": name}
	return promhttp.InstrumentHandlerInFlight(m.Inflight,
		promhttp.InstrumentHandlerDuration(m.HTTPRequestDuration.MustCurryWith(labels),
			promhttp.InstrumentHandlerCounter(m.HTTPRequests.MustCurryWith(labels), h)))
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "draining")
		return
	}
	fmt.Fprintln(w, "ready")
}

func (s *Server) serveAvatar(w http.ResponseWriter, r *http.Request) {
	src, ok := s.sources[r.PathValue("upstream")]
	if !ok {
		writeError(w, errUnknownUpstream)
		return
	}
	req, err := s.parseAvatar(r, src, r.PathValue("user"), avatarParams, true)
	if err != nil {
		writeError(w, err)
		return
	}
	s.respondAvatar(w, r, req)
}

// serveDropin answers ActiveCollab's own avatar URLs, so that an
// ActiveCollab front end can point at the proxy unchanged.
func (s *Server) serveDropin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if s.dropin == nil || q.Get("proxy") != "avatar" {
		writeError(w, &requestError{status: http.StatusNotFound, msg: "not found"})
		return
	}
	userID := q.Get("user_id")
	if userID == "" {
		writeError(w, badRequest("user_id: required"))
		return
	}
	req, err := s.parseAvatar(r, s.dropin, userID, dropinParams, false)
	if err != nil {
		writeError(w, err)
		return
	}
	s.respondAvatar(w, r, req)
}

func (s *Server) respondAvatar(w http.ResponseWriter, r *http.Request, req *avatarRequest) {
	ans, err := s.avatars.get(r.Context(), req)
	if err != nil {
		if r.Context().Err() != nil {
			// The client has gone; nobody reads what we would write.
			w.WriteHeader(499)
			return
		}
		if status, _ := errorStatus(err); status >= 500 && status != http.StatusServiceUnavailable {
			s.log.Error("avatar request failed", "upstream", req.upstream.name, "err", err)
		}
		writeError(w, err)
		return
	}
	s.writeAvatar(w, r, req, ans)
}

// writeAvatar sends an answer with the caching headers the README documents.
func (s *Server) writeAvatar(w http.ResponseWriter, r *http.Request, req *avatarRequest, ans *answer) {
	v := ans.v
	h := w.Header()
	h.Set("X-Cache", ans.cache)
	if req.auto {
		h.Set("Vary", "Accept")
	}
	tag := purgeTag(req.upstream.name, req.userID)
	for _, name := range s.cfg.HTTP.PurgeTagHeaders {
		h.Set(name, "avatar "+tag)
	}
	switch {
	case ans.fallback != "":
		h.Set("X-Avatar-Fallback", ans.fallback)
		h.Set("Cache-Control", "public, max-age=10")
	case v.negative:
		h.Set("Cache-Control", s.negativeCacheControl)
	case req.version != "":
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	default:
		h.Set("Cache-Control", s.browserCacheControl)
	}
	if v.noAvatar404 {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			fmt.Fprintln(w, "no avatar")
		}
		return
	}
	h.Set("ETag", v.etag)
	if etagMatches(r.Header.Values("If-None-Match"), v.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", v.contentType)
	h.Set("Content-Length", strconv.Itoa(len(v.body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(v.body)
	}
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatches(headers []string, etag string) bool {
	for _, h := range headers {
		for _, candidate := range strings.Split(h, ",") {
			candidate = strings.TrimSpace(candidate)
			if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
				return true
			}
		}
	}
	return false
}

// servePurge drops every cached size and format of a user.
func (s *Server) servePurge(w http.ResponseWriter, r *http.Request) {
	if !s.authorizedPurge(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="avatarproxy"`)
		writeError(w, errUnauthorized)
		return
	}
	src, ok := s.sources[r.PathValue("upstream")]
	if !ok {
		writeError(w, errUnknownUpstream)
		return
	}
	s.Invalidate(r.Context(), src.name, r.PathValue("user"), "purge")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) authorizedPurge(r *http.Request) bool {
	want := s.cfg.Security.PurgeToken
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	// Without a configured token the purge API is closed, not open.
	return want != "" && ok && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Invalidate drops every cached size and format of a user; source names
// what caused it, for the invalidations metric.
func (s *Server) Invalidate(ctx context.Context, upstreamName, userID, source string) {
	s.avatars.gens.Bump(userKey(upstreamName, userID))
	s.metrics.Invalidations.WithLabelValues(upstreamName, source).Inc()
	s.cdn.Purge(purgeTag(upstreamName, userID))
}
