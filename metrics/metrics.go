// Package metrics defines avatarproxy's Prometheus metrics (the README's metrics table)
// on a registry of its own, so that tests and several proxies in one process
// never collide. No label takes its value from a request.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Cache tiers, the values of the tier label.
const (
	TierVariant  = "variant"
	TierOriginal = "original"
	TierRedis    = "redis"
)

// Metrics holds every collector the proxy updates.
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests        *prometheus.CounterVec
	HTTPRequestDuration *prometheus.HistogramVec
	Inflight            prometheus.Gauge

	CacheHits      *prometheus.CounterVec
	CacheMisses    *prometheus.CounterVec
	CacheEvictions prometheus.Counter

	UpstreamRequests        *prometheus.CounterVec
	UpstreamRequestDuration *prometheus.HistogramVec

	// UpstreamCircuitOpen is 1 while an upstream's circuit breaker refuses
	// fetches; see SetCircuitOpen.
	UpstreamCircuitOpen *prometheus.GaugeVec

	ResizeDuration *prometheus.HistogramVec
	Invalidations  *prometheus.CounterVec
	CDNPurges      *prometheus.CounterVec

	// RedisConfigured is 1 when cache.redis_url is set, and RedisConnected
	// 1 while the shared tier is reachable; both are exported from the
	// start so that dashboards and alerts see a series without Redis.
	RedisConfigured prometheus.Gauge
	RedisConnected  prometheus.Gauge
}

// New creates the collectors on a new registry, with the Go and process
// collectors; each is registered as it is created.
func New() *Metrics {
	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	f := promauto.With(registry)
	m := &Metrics{
		Registry: registry,
		HTTPRequests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_http_requests_total",
			Help: "HTTP requests served, by handler and status code.",
		}, []string{"handler", "code"}),
		HTTPRequestDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "avatarproxy_http_request_duration_seconds",
			Help: "Time to serve an HTTP request, by handler.",
			// 100us to ~13s: cache hits are sub-millisecond, cold resizes are not.
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}, []string{"handler"}),
		Inflight: f.NewGauge(prometheus.GaugeOpts{
			Name: "avatarproxy_inflight_requests",
			Help: "HTTP requests being served now.",
		}),
		CacheHits: f.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_cache_hits_total",
			Help: "Cache lookups that found an entry, by tier.",
		}, []string{"tier"}),
		CacheMisses: f.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_cache_misses_total",
			Help: "Cache lookups that found nothing, by tier.",
		}, []string{"tier"}),
		CacheEvictions: f.NewCounter(prometheus.CounterOpts{
			Name: "avatarproxy_cache_evictions_total",
			Help: "Entries evicted from the in-process cache to make room.",
		}),
		UpstreamRequests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_upstream_requests_total",
			Help: "Requests sent to upstreams, by upstream and status code (error: no response).",
		}, []string{"upstream", "code"}),
		UpstreamRequestDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "avatarproxy_upstream_request_duration_seconds",
			Help:    "Time for an upstream request, by upstream.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"upstream"}),
		UpstreamCircuitOpen: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "avatarproxy_upstream_circuit_open",
			Help: "1 while the upstream's circuit breaker is open (fetches refused), else 0.",
		}, []string{"upstream"}),
		ResizeDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "avatarproxy_resize_duration_seconds",
			Help:    "Time to decode, resize and encode one variant, by output format.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"format"}),
		Invalidations: f.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_invalidations_total",
			Help: "Per-user invalidations, by upstream and what caused them.",
		}, []string{"upstream", "source"}),
		CDNPurges: f.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_cdn_purges_total",
			Help: "CDN purge attempts, by result: ok, retry (failed, will retry), failed (given up, or dropped with the queue full), coalesced (covered by the same request still queued).",
		}, []string{"result"}),
		RedisConfigured: f.NewGauge(prometheus.GaugeOpts{
			Name: "avatarproxy_redis_configured",
			Help: "1 when the shared Redis tier is configured (cache.redis_url), else 0.",
		}),
		RedisConnected: f.NewGauge(prometheus.GaugeOpts{
			Name: "avatarproxy_redis_connected",
			Help: "1 while the shared Redis tier is reachable, else 0 (always 0 without Redis).",
		}),
	}
	// Every tier's counters exist from the start, at zero, so that hit
	// ratios have a series before the first lookup and without Redis.
	for _, tier := range []string{TierVariant, TierOriginal, TierRedis} {
		m.CacheHits.WithLabelValues(tier)
		m.CacheMisses.WithLabelValues(tier)
	}
	return m
}

// GaugeFunc registers a gauge whose value is read at scrape time.
func (m *Metrics) GaugeFunc(name, help string, labels prometheus.Labels, f func() float64) {
	promauto.With(m.Registry).NewGaugeFunc(prometheus.GaugeOpts{
		Name: name, Help: help, ConstLabels: labels,
	}, f)
}

// ObserveUpstream records one upstream request.
func (m *Metrics) ObserveUpstream(upstream, code string, d time.Duration) {
	m.UpstreamRequests.WithLabelValues(upstream, code).Inc()
	m.UpstreamRequestDuration.WithLabelValues(upstream).Observe(d.Seconds())
}

// SetCircuitOpen records whether an upstream's circuit is open. It is quick
// and takes no lock of the caller's, so the breaker may call it under its
// own.
func (m *Metrics) SetCircuitOpen(upstream string, open bool) {
	v := 0.0
	if open {
		v = 1
	}
	m.UpstreamCircuitOpen.WithLabelValues(upstream).Set(v)
}
