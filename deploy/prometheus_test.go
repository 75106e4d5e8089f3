package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// The dashboard, proven against the real thing: the avatarproxy binary
// serves mixed traffic (hits, misses, every format, a purge, a version
// token, a user without an avatar, an upstream that is down), Debian's
// Prometheus scrapes it every second with the alerting rules loaded, and
// every query of the dashboard must run and return series. The README's
// metrics table must match the families the binary exports.
func TestDashboardAgainstPrometheus(t *testing.T) {
	promBin := testproc.Need(t, "prometheus")
	root := testproc.RepoRoot(t)

	var cdnPurges atomic.Int64
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PURGE" && r.Header.Get("xkey-purge") != "" {
			cdnPurges.Add(1)
		}
	}))
	t.Cleanup(cdn.Close)

	addr := testproc.FreeAddr(t)
	down := testproc.FreeAddr(t) // nothing listens there: every fetch is refused
	testproc.Proxy(t, t.TempDir(), addr, fmt.Sprintf(`
listen: %q
security: {purge_token: secret}
upstreams:
  - {name: local, kind: file, root: %q}
  - {name: down, kind: http, url_template: "http://%s/a/{user_id}"}
http:
  purge_requests:
    - {method: PURGE, url: "%s/", headers: {xkey-purge: "{tag}"}}
`, addr, filepath.Join(root, "examples", "avatars"), down, cdn.URL))
	base := "http://" + addr
	prom := startPrometheus(t, promBin, addr, filepath.Join(root, "deploy", "prometheus", "alerts.yml"))

	// Every kind of request once, so that every series exists from the
	// first scrape, then a steady mix until the queries are done.
	client := &http.Client{Timeout: testproc.MustNotHang}
	traffic := &trafficLog{}
	for _, path := range []string{
		"/avatar/local/alice?size=64", "/avatar/local/alice?size=64", // miss, then hit
		"/avatar/local/bob?size=40&format=webp", "/avatar/local/bob?size=40&format=avif",
		"/avatar/local/dave?size=48&format=png", "/avatar/local/erin?size=80&format=jpeg",
		"/avatar/local/frank?size=32&v=1", "/avatar/local/nobody?d=404", "/avatar/local/nobody?format=png",
		"/avatar/local/alice?size=x", "/nowhere",
	} {
		traffic.get(t, client, base+path)
	}
	// Distinct users: a failed fetch is remembered per avatar.
	for i := range upstream.DefaultBreakerFailures + 1 {
		traffic.get(t, client, fmt.Sprintf("%s/avatar/down/u%d", base, i))
	}
	traffic.purge(t, client, base+"/purge/local/alice")

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			users := []string{"alice", "bob", "dave", "erin", "frank"}
			formats := []string{"jpeg", "png", "webp", "avif"}
			traffic.get(t, client, fmt.Sprintf("%s/avatar/local/%s?size=%d&format=%s",
				base, users[i%5], 16+8*(i%24), formats[i%4])) // a miss for each new size and format, then hits
			traffic.get(t, client, base+"/avatar/local/alice?size=64")
			if i%20 == 0 {
				traffic.purge(t, client, base+"/purge/local/bob")
				traffic.get(t, client, fmt.Sprintf("%s/avatar/down/u%d", base, i))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	defer func() { stop(); wg.Wait() }()

	// Enough scrapes for a rate over the dashboard's interval.
	prom.waitFor(t, `count_over_time(avatarproxy_http_requests_total{handler="avatar", code="200"}[1m]) >= 6`)

	d := loadDashboard(t)
	for _, q := range d.queries() {
		expr, unknown := substitute(q.expr, queryVariables)
		if len(unknown) > 0 {
			t.Errorf("panel %q query %s: unknown variables %v", q.panel, q.refID, unknown)
			continue
		}
		series, err := prom.query(expr)
		switch {
		case err != nil:
			t.Errorf("panel %q query %s: %v\n%s", q.panel, q.refID, err, expr)
		case len(series) == 0:
			t.Errorf("panel %q query %s returned no series\n%s", q.panel, q.refID, expr)
		}
	}

	// The job variable's values, as Grafana's label_values() asks for them.
	if jobs := prom.labelValues(t, "job", "avatarproxy_http_requests_total"); !slices.Contains(jobs, queryVariables["job"]) {
		t.Errorf("label values of job: %v, want %s", jobs, queryVariables["job"])
	}

	// What the failing upstream and the missing Redis must show.
	for expr, want := range map[string]string{
		`avatarproxy_upstream_circuit_open{upstream="down"}`:                          "1",
		`avatarproxy_redis_connected`:                                                 "0",
		`avatarproxy_redis_configured`:                                                "0",
		`sum(avatarproxy_upstream_requests_total{upstream="down", code="error"}) > 0`: "",
		`sum(avatarproxy_invalidations_total{source="purge"}) > 0`:                    "",
		`sum(avatarproxy_cdn_purges_total{result="ok"}) > 0`:                          "",
		`count(ALERTS{alertname="AvatarproxyUpstreamCircuitOpen", upstream="down"})`:  "1",
	} {
		series, err := prom.query(expr)
		if err != nil || len(series) != 1 || (want != "" && series[0].value() != want) {
			t.Errorf("%s: got %v (%v), want one series%s", expr, series, err, map[bool]string{true: " of value " + want}[want != ""])
		}
	}
	if series, err := prom.query(`ALERTS{alertname="AvatarproxyRedisDisconnected"}`); err != nil || len(series) != 0 {
		t.Errorf("AvatarproxyRedisDisconnected is active without Redis: %v %v", series, err)
	}
	prom.rulesHealthy(t)
	if cdnPurges.Load() == 0 {
		t.Errorf("the CDN saw no purge")
	}

	// The README's metrics table and the binary's families agree.
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[1] == "TYPE" && strings.HasPrefix(f[2], "avatarproxy_") {
			exported = append(exported, f[2])
		}
	}
	resp.Body.Close()
	documented := readmeMetrics(t)
	for _, f := range exported {
		if !slices.Contains(documented, f) {
			t.Errorf("%s is exported but not in the README's metrics table", f)
		}
	}
	for _, f := range documented {
		if !slices.Contains(exported, f) {
			t.Errorf("%s is in the README's metrics table but not exported", f)
		}
	}

	stop()
	wg.Wait()
	if n := traffic.serverErrors.Load(); n > 0 {
		t.Errorf("%d requests got a 5xx", n)
	}
	// A figure for sizing memory requests, not a check.
	if s, err := prom.query(`max_over_time(process_resident_memory_bytes{job="avatarproxy"}[5m])`); err == nil && len(s) == 1 {
		cached := "?"
		if b, err := prom.query(`sum(avatarproxy_cache_size_bytes{job="avatarproxy"})`); err == nil && len(b) == 1 {
			cached = b[0].value()
		}
		t.Logf("peak RSS %s bytes, %s bytes cached, after %d requests", s[0].value(), cached, traffic.requests.Load())
	}
}

// trafficLog sends requests and counts what came back.
type trafficLog struct {
	requests, serverErrors atomic.Int64
}

func (l *trafficLog) get(t *testing.T, client *http.Client, url string) {
	l.do(t, client, http.MethodGet, url)
}

func (l *trafficLog) purge(t *testing.T, client *http.Client, url string) {
	l.do(t, client, http.MethodPost, url)
}

func (l *trafficLog) do(t *testing.T, client *http.Client, method, url string) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Error(err)
		return
	}
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("Accept", "image/avif,image/webp,*/*")
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.requests.Add(1)
	if resp.StatusCode >= 500 {
		l.serverErrors.Add(1)
	}
}

// prometheus is a Prometheus server run by the test.
type prometheus struct {
	url string
}

// startPrometheus runs Prometheus scraping the proxy at target every
// second, with the rules file loaded and evaluated every second.
func startPrometheus(t *testing.T, bin, target, rules string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: avatarproxy
    static_configs:
      - targets: [%q]
`, rules, target)
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := testproc.FreeAddr(t)
	p := testproc.Start(t, exec.Command(bin,
		"--config.file="+path,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	))
	p.WaitHTTP("http://" + addr + "/-/ready")
	return &prometheus{url: "http://" + addr}
}

// sample is one series of an instant query's result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) value() string {
	v, _ := s.Value[1].(string)
	return v
}

// query runs an instant query through the HTTP API and returns its series.
func (p *prometheus) query(expr string) ([]sample, error) {
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		Error     string `json:"error"`
		ErrorType string `json:"errorType"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s", body.ErrorType, body.Error)
	}
	switch body.Data.ResultType {
	case "vector":
		var series []sample
		err := json.Unmarshal(body.Data.Result, &series)
		return series, err
	case "scalar":
		var s sample
		err := json.Unmarshal(body.Data.Result, &s.Value)
		return []sample{s}, err
	}
	return nil, fmt.Errorf("result type %s, want vector or scalar", body.Data.ResultType)
}

// labelValues lists the values of label on the series of metric.
func (p *prometheus) labelValues(t *testing.T, label, metric string) []string {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/label/" + label + "/values?match[]=" + url.QueryEscape(metric))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data []string `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Data
}

// waitFor waits, within testproc.MustNotHang, until expr returns a series.
func (p *prometheus) waitFor(t *testing.T, expr string) {
	t.Helper()
	deadline := time.Now().Add(testproc.MustNotHang)
	for {
		series, err := p.query(expr)
		if err == nil && len(series) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus: %s still empty after %v (%v)", expr, testproc.MustNotHang, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// rulesHealthy fails the test unless every rule loaded and evaluates
// without error against the proxy's series.
func (p *prometheus) rulesHealthy(t *testing.T) {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range body.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				t.Errorf("rule %s: health %q %s", r.Name, r.Health, r.LastError)
			}
		}
	}
	if n == 0 {
		t.Error("Prometheus loaded no alerting rule")
	}
}
