package cdnpurge

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakecdn"
	"github.com/avatarproxy/avatarproxy/metrics"
	"github.com/avatarproxy/avatarproxy/netguard"
)

// mustNotHang bounds waits for work that should happen promptly.
const mustNotHang = 10 * time.Second

// newTestPurger is a purger with fast retries.
func newTestPurger(t *testing.T, log *slog.Logger, reqs ...config.PurgeRequest) (*Purger, *metrics.Metrics) {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := metrics.New()
	p := New(reqs, log, m, nil)
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

func TestPurgeRetriesTransientFailures(t *testing.T) {
	cdn := fakecdn.New(t)
	cdn.Answer(500, 503, 204)
	p, m := newTestPurger(t, nil, cdn.VarnishPurge())
	p.Purge("avatar-web-u")
	p.Close()
	if n := cdn.Requests(); n != 3 {
		t.Errorf("CDN got %d requests, want 3", n)
	}
	for range 3 {
		if r := cdn.Next(t); r.Method != "PURGE" || r.Header.Get("xkey-purge") != "avatar-web-u" {
			t.Errorf("attempt %s with xkey-purge %q", r.Method, r.Header.Get("xkey-purge"))
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
			cdn := fakecdn.New(t)
			cdn.Answer(c.statuses...)
			p, m := newTestPurger(t, nil, cdn.VarnishPurge())
			p.Purge("avatar-web-u")
			p.Close()
			if n := cdn.Requests(); n != c.attempts {
				t.Errorf("%d attempts, want %d", n, c.attempts)
			}
			wantCounts(t, m, c.ok, c.retry, c.failed)
		})
	}
}

func TestPurgeCDNUnreachable(t *testing.T) {
	cdn := fakecdn.New(t)
	url := cdn.URL
	cdn.Close()
	p, m := newTestPurger(t, nil, config.PurgeRequest{Method: "PURGE", URL: url + "/"})
	p.Purge("avatar-web-u")
	p.Close()
	wantCounts(t, m, 0, 2, 1)
}

func TestPurgeFailureLogKeepsSecretsOut(t *testing.T) {
	cdn := fakecdn.New(t)
	cdn.Answer(403)
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
	cdn := fakecdn.New(t)
	release := cdn.HoldAll()
	defer release()
	p, m := newTestPurger(t, nil, cdn.VarnishPurge())
	const n = 20
	for i := range n {
		p.Purge("avatar-web-u" + string(rune('a'+i)))
	}
	cdn.Next(t) // the first request is held at the CDN

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
	if got := cdn.Requests() + 1; got != n {
		t.Errorf("CDN got %d purges, want %d", got, n)
	}
	wantCounts(t, m, n, 0, 0)

	p.Purge("avatar-web-late") // after Close: counted as failed, no panic
	wantCounts(t, m, n, 0, 1)
}

// Close gives up on a CDN that never answers, within its bound.
func TestPurgeCloseIsBounded(t *testing.T) {
	cdn := fakecdn.New(t)
	release := cdn.HoldAll()
	defer release()
	p, m := newTestPurger(t, nil, cdn.VarnishPurge())
	p.drain = 10 * time.Millisecond
	p.Purge("avatar-web-u")
	cdn.Next(t)

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
	case <-cdn.Cancelled:
	case <-time.After(mustNotHang):
		t.Fatal("the abandoned purge request was not cancelled")
	}
	wantCounts(t, m, 0, 0, 1)
}

func TestPurgeQueueFullDrops(t *testing.T) {
	cdn := fakecdn.New(t)
	release := cdn.HoldAll()
	p, m := newTestPurger(t, nil, cdn.VarnishPurge())
	// The workers hold one request each and the queue fills up: Purge must
	// still return, dropping what does not fit.
	const extra = 100
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range purgeWorkers + purgeQueueLen + extra {
			p.Purge(fmt.Sprintf("avatar-web-u%d", i))
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
	var nilPurger *Purger
	nilPurger.Purge("avatar-web-u")
	nilPurger.Close()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(mustNotHang)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// envProxy records what reaches it as the HTTP proxy named by HTTP_PROXY,
// which TestMain sets for the whole process before any request reads it.
var envProxy struct {
	*httptest.Server
	got atomic.Int64
}

func TestMain(m *testing.M) {
	envProxy.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		envProxy.got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	os.Setenv("HTTP_PROXY", envProxy.URL)
	os.Setenv("http_proxy", envProxy.URL)
	code := m.Run()
	envProxy.Close()
	os.Exit(code)
}

// The purge client dials through the guard: a cloud metadata address is
// refused before a packet is sent, and not retried.
func TestPurgeRefusesMetadataAddress(t *testing.T) {
	for _, target := range []string{"http://169.254.169.254/purge", "http://[fd00:ec2::254]/purge", "http://100.100.100.200/purge"} {
		var logged bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(purgeLogWriter{&mu, &logged}, nil))
		m := metrics.New()
		p := New([]config.PurgeRequest{{Method: "PURGE", URL: target}}, log, m, netguard.Default())
		p.backoff = time.Millisecond
		p.Purge("avatar-web-u")
		p.Close()
		wantCounts(t, m, 0, 0, 1)
		mu.Lock()
		text := logged.String()
		mu.Unlock()
		if !strings.Contains(text, netguard.ErrForbidden.Error()) {
			t.Errorf("%s: failure not the guard's: %s", target, text)
		}
	}
}

// A proxy named in the environment is not used: purges would otherwise
// leave through it, past the guard, with the CDN credentials.
func TestPurgeIgnoresProxyEnvironment(t *testing.T) {
	// 192.0.2.0/24 is reserved for documentation; denying it makes the
	// direct dial fail at once, where a proxied request would succeed.
	guard, err := netguard.New([]string{"192.0.2.0/24"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	p := New([]config.PurgeRequest{{Method: "PURGE", URL: "http://192.0.2.7/purge"}}, slog.New(slog.DiscardHandler), m, guard)
	p.backoff = time.Millisecond
	p.Purge("avatar-web-u")
	p.Close()
	if n := envProxy.got.Load(); n != 0 {
		t.Fatalf("%d purge requests went through the proxy from the environment", n)
	}
	wantCounts(t, m, 0, 0, 1)
}

// A purge of a tag whose request is still queued is coalesced into it: the
// queued one, sent later, covers both. Once a worker has taken a request,
// a new purge of the tag is sent again, since it may follow a change that
// the request already on its way does not cover.
func TestPurgeCoalescesQueuedTags(t *testing.T) {
	cdn := fakecdn.New(t)
	release := cdn.HoldAll()
	defer release()
	p, m := newTestPurger(t, nil, cdn.VarnishPurge())
	// Every worker held at the CDN, so what follows waits in the queue.
	for i := range purgeWorkers {
		p.Purge(fmt.Sprintf("avatar-web-busy%d", i))
	}
	for range purgeWorkers {
		cdn.Next(t)
	}
	for range 50 {
		p.Purge("avatar-web-u")
	}
	if got := purgeCounts(t, m)[purgeCoalesced]; got != 49 {
		t.Errorf("%v purges coalesced, want 49 of 50 identical ones", got)
	}
	release()
	waitFor(t, func() bool { return purgeCounts(t, m)[purgeOK] == purgeWorkers+1 })

	// Sent: the next purge of the tag goes out again.
	p.Purge("avatar-web-u")
	waitFor(t, func() bool { return purgeCounts(t, m)[purgeOK] == purgeWorkers+2 })
	// Those taken by Next above, and one for each purge of the tag.
	if got := cdn.Requests(); got != 2 {
		t.Errorf("CDN got %d more purges, want 2", got)
	}
}
