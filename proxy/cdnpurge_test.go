package proxy

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/metrics"
)

// mustNotHang bounds waits for work that should happen promptly.
const mustNotHang = 10 * time.Second

// cdnRequest is what the fake CDN recorded about one request.
type cdnRequest struct {
	method, path string
	header       http.Header
	body         string
}

// fakeCDN records the purge requests it gets and answers them with the
// statuses queued by answer, then 204. With hold set, requests wait for it
// to be closed, or for the client to give up, which cancelled reports.
type fakeCDN struct {
	*httptest.Server
	got       chan cdnRequest
	cancelled chan struct{}

	mu       sync.Mutex
	statuses []int
	hold     chan struct{}
}

func newFakeCDN(t *testing.T) *fakeCDN {
	c := &fakeCDN{got: make(chan cdnRequest, 8192), cancelled: make(chan struct{}, 8192)}
	c.Server = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.Close)
	return c
}

func (c *fakeCDN) answer(statuses ...int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statuses = append(c.statuses, statuses...)
}

// holdAll makes requests wait until the returned function is called.
func (c *fakeCDN) holdAll() (release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hold := make(chan struct{})
	c.hold = hold
	var once sync.Once
	return func() { once.Do(func() { close(hold) }) }
}

func (c *fakeCDN) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	status := http.StatusNoContent
	if len(c.statuses) > 0 {
		status, c.statuses = c.statuses[0], c.statuses[1:]
	}
	hold := c.hold
	c.mu.Unlock()
	c.got <- cdnRequest{method: r.Method, path: r.URL.RequestURI(), header: r.Header.Clone(), body: string(body)}
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			c.cancelled <- struct{}{}
			return
		}
	}
	w.WriteHeader(status)
}

// next returns the next request the CDN got.
func (c *fakeCDN) next(t *testing.T) cdnRequest {
	t.Helper()
	select {
	case r := <-c.got:
		return r
	case <-time.After(mustNotHang):
		t.Fatal("the CDN got no purge request")
		return cdnRequest{}
	}
}

func (c *fakeCDN) requests() int { return len(c.got) }

func varnishPurge(c *fakeCDN) config.PurgeRequest {
	return config.PurgeRequest{Method: "PURGE", URL: c.URL + "/", Headers: map[string]string{"xkey-purge": "{tag}"}}
}

// newTestPurger is a purger with fast retries.
func newTestPurger(t *testing.T, log *slog.Logger, reqs ...config.PurgeRequest) (*cdnPurger, *metrics.Metrics) {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := metrics.New()
	p := newCDNPurger(reqs, log, m)
	p.backoff = time.Millisecond
	t.Cleanup(p.Close)
	return p, m
}

// purgeCounts returns the CDN purge counter by result.
func purgeCounts(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "avatarproxy_cdn_purges_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "result" {
					counts[l.GetValue()] = s.GetCounter().GetValue()
				}
			}
		}
	}
	return counts
}

func wantCounts(t *testing.T, m *metrics.Metrics, ok, retry, failed float64) {
	t.Helper()
	got := purgeCounts(t, m)
	if got[purgeOK] != ok || got[purgeRetry] != retry || got[purgeFailed] != failed {
		t.Errorf("purge counts %v, want ok %v, retry %v, failed %v", got, ok, retry, failed)
	}
}

func TestPurgeReachesCDNs(t *testing.T) {
	cdn := newFakeCDN(t)
	h := newHarness(t, func(c *config.Config) {
		c.HTTP.PurgeRequests = []config.PurgeRequest{
			varnishPurge(cdn),
			{Method: "POST", URL: cdn.URL + "/service/svc1/purge/{tag}", Headers: map[string]string{"Fastly-Key": "fastly-token"}},
			{
				Method:  "POST",
				URL:     cdn.URL + "/client/v4/zones/zone1/purge_cache",
				Headers: map[string]string{"Authorization": "Bearer cf-token"},
				Body:    `{"tags":["{tag}"]}`,
			},
		}
	})
	// A user id that the tag has to hash: the CDN must get the tag that the
	// avatar response carried.
	h.origin.set("Jane.Doe", testimages.PNG(testimages.Solid(16, 16, green)))
	r := h.get("/avatar/web/Jane.Doe")
	h.mustStatus(r, 200)
	fields := strings.Fields(r.Header.Get("Surrogate-Key"))
	if len(fields) != 2 {
		t.Fatalf("Surrogate-Key %q", r.Header.Get("Surrogate-Key"))
	}
	janeTag := fields[1]

	auth := http.Header{"Authorization": {"Bearer purge-secret"}}
	h.mustStatus(h.do("POST", "/purge/web/u", auth), 204)
	h.mustStatus(h.do("POST", "/purge/web/Jane.Doe", auth), 204)

	var got []cdnRequest
	for range 6 {
		got = append(got, cdn.next(t))
	}
	find := func(match func(cdnRequest) bool) bool {
		for _, r := range got {
			if match(r) {
				return true
			}
		}
		return false
	}
	for _, tag := range []string{"avatar-web-u", janeTag} {
		if !find(func(r cdnRequest) bool {
			return r.method == "PURGE" && r.path == "/" && r.header.Get("xkey-purge") == tag
		}) {
			t.Errorf("no Varnish PURGE with xkey-purge: %s", tag)
		}
		if !find(func(r cdnRequest) bool {
			return r.method == "POST" && r.path == "/service/svc1/purge/"+tag && r.header.Get("Fastly-Key") == "fastly-token"
		}) {
			t.Errorf("no Fastly purge of %s with its key", tag)
		}
		if !find(func(r cdnRequest) bool {
			return r.method == "POST" && r.path == "/client/v4/zones/zone1/purge_cache" &&
				r.header.Get("Authorization") == "Bearer cf-token" &&
				r.header.Get("Content-Type") == "application/json" &&
				r.body == `{"tags":["`+tag+`"]}`
		}) {
			t.Errorf("no Cloudflare purge of %s with its token and JSON body", tag)
		}
	}
	if t.Failed() {
		for _, r := range got {
			t.Logf("CDN got %s %s %v %q", r.method, r.path, r.header, r.body)
		}
	}
}

// A CDN that does not answer must not hold up the purge API.
func TestPurgeDoesNotWaitForCDN(t *testing.T) {
	cdn := newFakeCDN(t)
	release := cdn.holdAll()
	defer release()
	h := newHarness(t, func(c *config.Config) { c.HTTP.PurgeRequests = []config.PurgeRequest{varnishPurge(cdn)} })
	purge := func(user string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, h.http.URL+"/purge/web/"+user, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer purge-secret")
		client := &http.Client{Timeout: mustNotHang}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("purge of %s while the CDN is held: %v", user, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("purge of %s: status %d", user, res.StatusCode)
		}
	}

	purge("u")
	first := cdn.next(t) // now held: the CDN has not answered
	if first.header.Get("xkey-purge") != "avatar-web-u" {
		t.Fatalf("xkey-purge %q", first.header.Get("xkey-purge"))
	}
	// While that request is held, purges still answer at once.
	purge("v")
	purge("u")
	release()
}

func TestPurgeRetriesTransientFailures(t *testing.T) {
	cdn := newFakeCDN(t)
	cdn.answer(500, 503, 204)
	p, m := newTestPurger(t, nil, varnishPurge(cdn))
	p.Purge("avatar-web-u")
	p.Close()
	if n := cdn.requests(); n != 3 {
		t.Errorf("CDN got %d requests, want 3", n)
	}
	for range 3 {
		if r := cdn.next(t); r.method != "PURGE" || r.header.Get("xkey-purge") != "avatar-web-u" {
			t.Errorf("attempt %s with xkey-purge %q", r.method, r.header.Get("xkey-purge"))
		}
	}
	wantCounts(t, m, 1, 2, 0)
}

func TestPurgeResults(t *testing.T) {
	cases := []struct {
		name              string
		statuses          []int
		attempts          int
		ok, retry, failed float64
	}{
		{"204", []int{204}, 1, 1, 0, 0},
		{"200", []int{200}, 1, 1, 0, 0},
		{"404 means nothing cached", []int{404}, 1, 1, 0, 0},
		{"always 500", []int{500, 500, 500, 500}, 3, 0, 2, 1},
		{"429 then ok", []int{429, 200}, 2, 1, 1, 0},
		{"403 is not retried", []int{403}, 1, 0, 0, 1},
		{"redirect is not followed", []int{302}, 1, 0, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cdn := newFakeCDN(t)
			cdn.answer(c.statuses...)
			p, m := newTestPurger(t, nil, varnishPurge(cdn))
			p.Purge("avatar-web-u")
			p.Close()
			if n := cdn.requests(); n != c.attempts {
				t.Errorf("%d attempts, want %d", n, c.attempts)
			}
			wantCounts(t, m, c.ok, c.retry, c.failed)
		})
	}
}

func TestPurgeCDNUnreachable(t *testing.T) {
	cdn := newFakeCDN(t)
	url := cdn.URL
	cdn.Close()
	p, m := newTestPurger(t, nil, config.PurgeRequest{Method: "PURGE", URL: url + "/"})
	p.Purge("avatar-web-u")
	p.Close()
	wantCounts(t, m, 0, 2, 1)
}

func TestPurgeFailureLogKeepsSecretsOut(t *testing.T) {
	cdn := newFakeCDN(t)
	cdn.answer(403)
	var logged bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(purgeLogWriter{&mu, &logged}, nil))
	p, _ := newTestPurger(t, log, config.PurgeRequest{
		Method:  "POST",
		URL:     cdn.URL + "/service/svc1/purge/{tag}?token=query-secret",
		Headers: map[string]string{"Fastly-Key": "header-secret"},
	})
	p.Purge("avatar-web-u")
	p.Close()
	mu.Lock()
	text := logged.String()
	mu.Unlock()
	if !strings.Contains(text, "CDN purge failed") || !strings.Contains(text, "403") || !strings.Contains(text, "avatar-web-u") {
		t.Errorf("failure not logged usefully: %s", text)
	}
	if strings.Contains(text, "header-secret") || strings.Contains(text, "query-secret") {
		t.Errorf("log leaks a credential: %s", text)
	}
}

type purgeLogWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l purgeLogWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Close lets queued purges finish before it returns.
func TestPurgeCloseDrains(t *testing.T) {
	cdn := newFakeCDN(t)
	release := cdn.holdAll()
	defer release()
	p, m := newTestPurger(t, nil, varnishPurge(cdn))
	const n = 20
	for i := range n {
		p.Purge("avatar-web-u" + string(rune('a'+i)))
	}
	cdn.next(t) // the first request is held at the CDN

	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	waitFor(t, func() bool {
		p.mu.RLock()
		defer p.mu.RUnlock()
		return p.closed
	})
	select {
	case <-closed:
		t.Fatal("Close returned while purges were still queued")
	default:
	}
	release()
	select {
	case <-closed:
	case <-time.After(mustNotHang):
		t.Fatal("Close did not return")
	}
	if got := cdn.requests() + 1; got != n {
		t.Errorf("CDN got %d purges, want %d", got, n)
	}
	wantCounts(t, m, n, 0, 0)

	p.Purge("avatar-web-late") // after Close: counted as failed, no panic
	wantCounts(t, m, n, 0, 1)
}

// Close gives up on a CDN that never answers, within its bound.
func TestPurgeCloseIsBounded(t *testing.T) {
	cdn := newFakeCDN(t)
	release := cdn.holdAll()
	defer release()
	p, m := newTestPurger(t, nil, varnishPurge(cdn))
	p.drain = 10 * time.Millisecond
	p.Purge("avatar-web-u")
	cdn.next(t)

	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(mustNotHang):
		t.Fatal("Close waited for a CDN that never answers")
	}
	select {
	case <-cdn.cancelled:
	case <-time.After(mustNotHang):
		t.Fatal("the abandoned purge request was not cancelled")
	}
	wantCounts(t, m, 0, 0, 1)
}

func TestPurgeQueueFullDrops(t *testing.T) {
	cdn := newFakeCDN(t)
	release := cdn.holdAll()
	p, m := newTestPurger(t, nil, varnishPurge(cdn))
	// The workers hold one request each and the queue fills up: Purge must
	// still return, dropping what does not fit.
	const extra = 100
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range purgeWorkers + purgeQueueLen + extra {
			p.Purge("avatar-web-u")
		}
	}()
	select {
	case <-done:
	case <-time.After(mustNotHang):
		release()
		t.Fatal("Purge blocked on a full queue")
	}
	if failed := purgeCounts(t, m)[purgeFailed]; failed < extra {
		t.Errorf("%v purges counted as dropped, want at least %d", failed, extra)
	}
	release()
}

func TestNoPurgeRequestsIsANoOp(t *testing.T) {
	p, m := newTestPurger(t, nil)
	p.Purge("avatar-web-u")
	p.Close()
	p.Close()
	wantCounts(t, m, 0, 0, 0)
	var nilPurger *cdnPurger
	nilPurger.Purge("avatar-web-u")
	nilPurger.Close()
}

func TestPurgeMetricIsExported(t *testing.T) {
	h := newHarness(t, nil)
	text := metricsText(h)
	for _, result := range []string{purgeOK, purgeRetry, purgeFailed} {
		if want := `avatarproxy_cdn_purges_total{result="` + result + `"} 0`; !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
