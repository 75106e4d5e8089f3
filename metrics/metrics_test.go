package metrics

import (
	"testing"
)

// A cache hit takes well under a millisecond: the request-duration
// histogram must have buckets there to tell hits apart.
func TestRequestDurationResolvesSubMillisecond(t *testing.T) {
	m := New()
	m.HTTPRequestDuration.WithLabelValues("avatar").Observe(0.0002)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "avatarproxy_http_request_duration_seconds" {
			continue
		}
		var below []float64
		for _, b := range f.GetMetric()[0].GetHistogram().GetBucket() {
			if b.GetUpperBound() < 0.001 {
				below = append(below, b.GetUpperBound())
			}
		}
		if len(below) < 3 {
			t.Errorf("buckets below 1 ms: %v, want 3 at least", below)
		}
		return
	}
	t.Fatal("avatarproxy_http_request_duration_seconds not registered")
}

// The circuit gauge reads 1 while open and 0 once closed again.
func TestSetCircuitOpen(t *testing.T) {
	m := New()
	for _, tc := range []struct {
		open bool
		want float64
	}{{true, 1}, {false, 0}, {true, 1}} {
		m.SetCircuitOpen("box", tc.open)
		families, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := -1.0
		for _, f := range families {
			if f.GetName() == "avatarproxy_upstream_circuit_open" {
				got = f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		if got != tc.want {
			t.Errorf("after SetCircuitOpen(%v): gauge %v, want %v", tc.open, got, tc.want)
		}
	}
}
