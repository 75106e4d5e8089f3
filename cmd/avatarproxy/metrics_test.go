package main

import (
	"bytes"
	"fmt"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "golang.org/x/image/webp"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// The metrics a live process exposes, after traffic of every kind, pass
// Prometheus' own linter.
func TestMetricsPassPromtool(t *testing.T) {
	promtool := testproc.Need(t, "promtool")
	root := t.TempDir()
	copyFile(t, filepath.Join(testproc.RepoRoot(t), "examples", "avatars", "alice.jpg"), filepath.Join(root, "alice.jpg"))
	o := newOrigin(t)
	p := startWithConfig(t, nil, fmt.Sprintf(`
security: {purge_token: secret}
upstreams:
  - {name: pics, kind: file, root: %q}
  - {name: o, kind: http, url_template: "%s/a/{user_id}"}
`, root, o.URL))
	client := &http.Client{Timeout: mustNotHang}
	for _, path := range []string{
		"/avatar/pics/alice?size=40", "/avatar/pics/alice?size=40", "/avatar/pics/alice?size=40&format=avif",
		"/avatar/pics/nobody", "/avatar/pics/alice?size=x", "/avatar/o/missing", "/avatar/o/broken", "/avatar/o/fine?size=8",
		"/nowhere", "/healthz", "/readyz",
	} {
		get(t, client, p.url+path)
	}
	req, _ := http.NewRequest("POST", p.url+"/purge/pics/alice", nil)
	req.Header.Set("Authorization", "Bearer secret")
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("purge: %v %v", resp, err)
	}
	_, body := get(t, client, p.url+"/metrics")
	for _, family := range []string{
		"avatarproxy_http_requests_total", "avatarproxy_http_request_duration_seconds", "avatarproxy_cache_hits_total",
		"avatarproxy_cache_misses_total", "avatarproxy_cache_evictions_total", "avatarproxy_cache_size_bytes",
		"avatarproxy_upstream_requests_total", "avatarproxy_upstream_request_duration_seconds",
		"avatarproxy_resize_duration_seconds", "avatarproxy_invalidations_total", "avatarproxy_inflight_requests",
		"avatarproxy_vips_memory_bytes", "avatarproxy_vips_memory_highwater_bytes",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(body), "# TYPE "+family+" ") {
			t.Errorf("/metrics lacks %s", family)
		}
	}
	// The resizes above held pixels in libvips.
	if hw := metric(t, client, p.url, "avatarproxy_vips_memory_highwater_bytes"); hw <= 0 {
		t.Errorf("avatarproxy_vips_memory_highwater_bytes = %v after resizes", hw)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// The Go heap is held to the cache plus headroom unless GOMEMLIMIT says
// otherwise, so that it does not grow to twice the cache.
func TestGoMemoryLimitFollowsTheCache(t *testing.T) {
	for _, c := range []struct {
		name string
		env  []string
		want int64
	}{
		{"from cache.max_bytes", nil, 64<<20 + memoryHeadroom},
		{"GOMEMLIMIT wins", []string{"GOMEMLIMIT=300MiB"}, 300 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startWithConfig(t, c.env, fmt.Sprintf(`
cache: {max_bytes: 64MiB}
upstreams:
  - {name: local, kind: file, root: %q}
`, filepath.Join(testproc.RepoRoot(t), "examples", "avatars")))
			_, body := get(t, &http.Client{Timeout: mustNotHang}, p.url+"/metrics")
			want := fmt.Sprintf("go_gc_gomemlimit_bytes %g\n", float64(c.want))
			if !strings.Contains(string(body), want) {
				t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
			}
		})
	}
}
