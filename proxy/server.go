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
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/avatarproxy/avatarproxy/cache"
	"github.com/avatarproxy/avatarproxy/cdnpurge"
	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/metrics"
	"github.com/avatarproxy/avatarproxy/netguard"
	"github.com/avatarproxy/avatarproxy/resize"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// provider is a configured upstream: its Source with its name and
// configuration.
type provider struct {
	upstream.Source
	name string
	cfg  config.Upstream
}

// Server serves every face of avatarproxy. Create it with New.
type Server struct {
	cfg       *config.Config
	log       *slog.Logger
	metrics   *metrics.Metrics
	providers map[string]*provider
	dropin    *provider
	signer    *signer
	avatars   *avatars
	// deliveries remembers signed webhook deliveries, to refuse repeats.
	deliveries   *deliveryMemory
	cacheControl cacheControl
	// purgeTagHeaders are http.purge_tag_headers in canonical form.
	purgeTagHeaders []string
	cdn             *cdnpurge.Purger
	guard           *netguard.Guard
	tiers           []interface{ Close() }
	draining        atomic.Bool
	requestIDs      *requestIDs
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
		cfg:        cfg,
		log:        opt.Logger,
		metrics:    opt.Metrics,
		providers:  make(map[string]*provider),
		requestIDs: newRequestIDs(),
		signer:     newSigner(cfg.Security),
		deliveries: newDeliveryMemory(deliveryMemoryBytes),
		cacheControl: newCacheControl(int(cfg.Cache.BrowserTTL.D().Seconds()),
			int(cfg.Cache.NegativeTTL.D().Seconds()), int(max(cfg.Cache.VersionInterval.D().Seconds(), 1))),
	}
	for _, name := range cfg.HTTP.PurgeTagHeaders {
		s.purgeTagHeaders = append(s.purgeTagHeaders, http.CanonicalHeaderKey(name))
	}
	guard, err := netguard.New(cfg.HTTP.DenyNetworks, cfg.HTTP.AllowNetworks)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	s.guard = guard
	for _, u := range cfg.Upstreams {
		src, err := upstream.New(u, upstream.Options{
			MaxBytes: int64(cfg.Resize.MaxSourceBytes),
			Observe:  s.metrics.ObserveUpstream,
			Guard:    guard,
			OnStateChange: func(name string, open bool) {
				s.metrics.SetCircuitOpen(name, open)
				if open {
					s.log.Warn("circuit open: serving stale copies and defaults without asking the upstream", "upstream", name)
				} else {
					s.log.Info("circuit closed: the upstream answers again", "upstream", name)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", u.Name, err)
		}
		if upstream.HasBreaker(u.Kind) {
			s.metrics.SetCircuitOpen(u.Name, false) // a breaker starts closed
		}
		s.providers[u.Name] = &provider{Source: src, name: u.Name, cfg: u}
	}
	if cfg.Cache.RedisURL != "" {
		s.metrics.RedisConfigured.Set(1)
	}
	if name := cfg.DropinUpstream(); name != "" {
		s.dropin = s.providers[name]
	}

	s.cdn = cdnpurge.New(cfg.HTTP.PurgeRequests, s.log, s.metrics, guard)
	a, err := s.newAvatars(opt)
	if err != nil {
		return nil, err
	}
	s.avatars = a
	return s, nil
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
	bodyTimeout := s.cfg.BodyTimeout.D()
	handle := func(pattern, name string, h http.HandlerFunc) *route {
		rt := s.newRoute(name, h)
		mux.Handle(pattern, withBodyDeadline(bodyTimeout, rt))
		return rt
	}
	handle("GET /avatar/{upstream}/{user}", "avatar", s.serveAvatar).logPath = true
	handle("GET /gravatar/{upstream}/avatar/{user}", "avatar", s.serveGravatar).logPath = true
	dropin := handle("GET /proxy.php", "dropin", s.serveDropin)
	if s.dropin != nil {
		dropin.upstream = s.dropin.name
	}
	handle("POST /purge/{upstream}/{user}", "purge", s.servePurge).logPath = true
	handle("POST /webhooks/{upstream}", "webhook", s.serveWebhook)
	for _, src := range s.providers {
		if p := src.cfg.PassthroughPrefix; p != "" {
			rt := s.newRoute("passthrough", s.passthrough(src).ServeHTTP)
			rt.upstream = src.name
			mux.Handle(p+"/", withBodyDeadline(s.cfg.PassthroughBodyTimeout.D(), rt))
		}
	}
	handle("GET /healthz", "healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	handle("GET /readyz", "readyz", s.serveReady)
	if metricsOnMain {
		handle("GET /metrics", "metrics", s.metricsHandler().ServeHTTP)
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

// MetricsHandler serves the Prometheus metrics. A scrape has no body, but
// one sent all the same is bounded by body_timeout, as on every face.
func (s *Server) MetricsHandler() http.Handler {
	return withBodyDeadline(s.cfg.BodyTimeout.D(), s.metricsHandler())
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{Registry: s.metrics.Registry})
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
	src, ok := s.providers[r.PathValue("upstream")]
	if !ok {
		writeError(w, errUnknownUpstream)
		return
	}
	req, err := s.parseAvatar(r, src, pathUserID(src, r.PathValue("user")), avatarParams, true)
	if err != nil {
		writeError(w, err)
		return
	}
	s.respondAvatar(w, r, &req)
}

// serveGravatar answers Gravatar's own URL shape under a gravatar upstream,
// /gravatar/{upstream}/avatar/{hash}[.png], for applications that let only
// Gravatar's host be configured. Like Gravatar, it ignores parameters it
// does not know (Discourse adds a random reset_cache).
func (s *Server) serveGravatar(w http.ResponseWriter, r *http.Request) {
	src, ok := s.providers[r.PathValue("upstream")]
	if !ok || src.cfg.Kind != upstream.KindGravatar {
		writeError(w, errUnknownUpstream)
		return
	}
	req, err := s.parseAvatar(r, src, pathUserID(src, r.PathValue("user")), avatarParams, false)
	if err != nil {
		writeError(w, err)
		return
	}
	s.respondAvatar(w, r, &req)
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
	s.respondAvatar(w, r, &req)
}

// servePurge drops every cached size and format of a user.
func (s *Server) servePurge(w http.ResponseWriter, r *http.Request) {
	if !s.authorizedPurge(r) {
		refuseUnauthorized(w)
		return
	}
	src, ok := s.providers[r.PathValue("upstream")]
	if !ok {
		writeError(w, errUnknownUpstream)
		return
	}
	userID := pathUserID(src, r.PathValue("user"))
	if err := checkUserID(userID); err != nil {
		writeError(w, err)
		return
	}
	s.Invalidate(r.Context(), src.name, userID, "purge")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) authorizedPurge(r *http.Request) bool {
	want := s.cfg.Security.PurgeToken
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	// Without a configured token the purge API is closed, not open.
	return want != "" && ok && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Invalidate drops every cached size and format of a user; cause names
// what caused it, for the invalidations metric.
func (s *Server) Invalidate(ctx context.Context, upstreamName, userID, cause string) {
	if len(userID) > maxUserIDLen {
		return // the avatar face refuses such ids: nothing of it is cached
	}
	s.avatars.gens.Bump(userKey(upstreamName, userID))
	s.metrics.Invalidations.WithLabelValues(upstreamName, cause).Inc()
	s.cdn.Purge(purgeTag(upstreamName, userID))
}
