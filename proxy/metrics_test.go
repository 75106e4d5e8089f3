package proxy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/avatarproxy/avatarproxy/upstream"
)

// The circuit gauge starts at 0 for every network upstream, is absent for
// the file kind, which has no breaker, and turns 1 when the breaker opens.
func TestCircuitGaugeFollowsTheBreaker(t *testing.T) {
	h := newHarness(t, nil)
	text := metricsText(h)
	if !strings.Contains(text, `avatarproxy_upstream_circuit_open{upstream="web"} 0`+"\n") {
		t.Fatalf("before any fetch, want the web circuit at 0:\n%s", grepLines(text, "circuit_open"))
	}
	if strings.Contains(text, `avatarproxy_upstream_circuit_open{upstream="local"}`) {
		t.Errorf("the file upstream has no breaker, yet exports a circuit gauge")
	}
	// Distinct users: a failed fetch is remembered per avatar.
	for i := range upstream.DefaultBreakerFailures {
		id := fmt.Sprintf("down%d", i)
		h.origin.fail(id, 503)
		h.get("/avatar/web/" + id)
	}
	text = metricsText(h)
	if !strings.Contains(text, `avatarproxy_upstream_circuit_open{upstream="web"} 1`+"\n") {
		t.Fatalf("after %d failures in a row, want the web circuit at 1:\n%s",
			upstream.DefaultBreakerFailures, grepLines(text, "circuit_open"))
	}
}

// Without Redis the shared tier's series exist at zero, so that dashboards
// and alerts have something to read and the disconnection alert stays
// quiet.
func TestRedisSeriesWithoutRedis(t *testing.T) {
	h := newHarness(t, nil)
	text := metricsText(h)
	for _, line := range []string{
		"avatarproxy_redis_configured 0",
		"avatarproxy_redis_connected 0",
		`avatarproxy_cache_hits_total{tier="redis"} 0`,
		`avatarproxy_cache_misses_total{tier="redis"} 0`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
