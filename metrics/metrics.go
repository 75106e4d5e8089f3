// Package metrics defines avatarproxy's Prometheus metrics (the README's metrics table)
// on a registry of its own, so that tests and several proxies in one process
// never collide. No label takes its value from a request.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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

	ResizeDuration *prometheus.HistogramVec
	Invalidations  *prometheus.CounterVec
	CDNPurges      *prometheus.CounterVec
}

// New creates the collectors and registers them, with the Go and process
// collectors, on a new registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_http_requests_total",
			Help: "HTTP requests served, by handler and status code.",
		}, []string{"handler", "code"}),
		HTTPRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "avatarproxy_http_request_duration_seconds",
			Help: "Time to serve an HTTP request, by handler.",
			// 100us to ~13s: cache hits are sub-millisecond, cold resizes are not.
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}, []string{"handler"}),
		Inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "avatarproxy_inflight_requests",
			Help: "HTTP requests being served now.",
		}),
		CacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_cache_hits_total",
			Help: "Cache lookups that found an entry, by tier.",
		}, []string{"tier"}),
		CacheMisses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_cache_misses_total",
			Help: "Cache lookups that found nothing, by tier.",
		}, []string{"tier"}),
		CacheEvictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "avatarproxy_cache_evictions_total",
			Help: "Entries evicted from the in-process cache to make room.",
		}),
		UpstreamRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_upstream_requests_total",
			Help: "Requests sent to upstreams, by upstream and status code (error: no response).",
		}, []string{"upstream", "code"}),
		UpstreamRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "avatarproxy_upstream_request_duration_seconds",
			Help:    "Time for an upstream request, by upstream.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"upstream"}),
		ResizeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "avatarproxy_resize_duration_seconds",
			Help:    "Time to decode, resize and encode one variant, by output format.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"format"}),
		Invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_invalidations_total",
			Help: "Per-user invalidations, by upstream and what caused them.",
		}, []string{"upstream", "source"}),
		CDNPurges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "avatarproxy_cdn_purges_total",
			Help: "CDN purge attempts, by result: ok, retry (failed, will retry), failed (given up, or dropped with the queue full).",
		}, []string{"result"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.HTTPRequests, m.HTTPRequestDuration, m.Inflight,
		m.CacheHits, m.CacheMisses, m.CacheEvictions,
		m.UpstreamRequests, m.UpstreamRequestDuration,
		m.ResizeDuration, m.Invalidations, m.CDNPurges,
	)
	return m
}

// GaugeFunc registers a gauge whose value is read at scrape time.
func (m *Metrics) GaugeFunc(name, help string, labels prometheus.Labels, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: name, Help: help, ConstLabels: labels,
	}, f))
}

// ObserveUpstream records one upstream request.
func (m *Metrics) ObserveUpstream(upstream, code string, d time.Duration) {
	m.UpstreamRequests.WithLabelValues(upstream, code).Inc()
	m.UpstreamRequestDuration.WithLabelValues(upstream).Observe(d.Seconds())
}
