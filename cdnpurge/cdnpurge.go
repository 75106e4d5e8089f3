// Package cdnpurge tells the CDNs in front of the proxy to drop a user's
// avatars: a bounded queue, a few workers, retries of transient failures,
// over the same guarded dialer as upstream fetches.
package cdnpurge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/metrics"
	"github.com/avatarproxy/avatarproxy/netguard"
)

// CDN purge limits. A purge is best effort: the CDN's own TTL is the
// backstop, so a bounded queue and a few retries are enough, and nothing
// here may hold up the invalidation that asked for it.
const (
	purgeWorkers  = 4
	purgeQueueLen = 4096
	purgeTimeout  = 5 * time.Second // one attempt, response body included
	purgeAttempts = 3
	purgeBackoff  = 200 * time.Millisecond // before the second attempt, doubled after
	purgeDrain    = 5 * time.Second        // how long Close waits for queued purges
	purgeLogBody  = 256                    // bytes of a failed response kept for the log
)

// Results of one purge attempt, the values of the metric's result label.
const (
	purgeOK     = "ok"
	purgeRetry  = "retry"
	purgeFailed = "failed"
	// purgeCoalesced is a purge not queued because the same request for
	// the same tag was still waiting in the queue: that one, sent later,
	// covers both.
	purgeCoalesced = "coalesced"
)

// purgeJob is one configured request to send for one purge tag.
type purgeJob struct {
	tag string
	req *config.PurgeRequest
}

// Purger tells the CDNs in front of the proxy to drop a user's avatars
// (the README's "CDN purge"): for every invalidation it sends each of
// http.purge_requests with {tag} replaced by the user's purge tag, from a
// small pool of workers so that the caller never waits for a CDN.
type Purger struct {
	reqs    []config.PurgeRequest
	log     *slog.Logger
	results *prometheus.CounterVec
	client  *http.Client
	backoff time.Duration
	drain   time.Duration

	// ctx is cancelled when Close stops waiting, aborting what is left.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.RWMutex // held for reading while sending on queue
	closed bool
	queue  chan purgeJob

	// queued holds the jobs waiting in queue, not yet taken by a worker,
	// so that a purge repeating one of them is coalesced into it. A job
	// leaves it when a worker takes it, before its request is sent: a
	// purge asked for after that may follow a change the request already
	// on its way does not cover, and is queued again. It holds at most
	// what the queue does.
	queuedMu sync.Mutex
	queued   map[purgeJob]struct{}
}

// New returns a Purger sending reqs through guard, counting results in
// m.CDNPurges. Close it to stop its workers.
func New(reqs []config.PurgeRequest, log *slog.Logger, m *metrics.Metrics, guard *netguard.Guard) *Purger {
	for _, result := range []string{purgeOK, purgeRetry, purgeFailed, purgeCoalesced} {
		m.CDNPurges.WithLabelValues(result) // export zeros, not absent series
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Purger{
		reqs:    reqs,
		log:     log,
		results: m.CDNPurges,
		client:  newClient(guard),
		backoff: purgeBackoff,
		drain:   purgeDrain,
		ctx:     ctx,
		cancel:  cancel,
		queued:  make(map[purgeJob]struct{}),
	}
	if len(reqs) == 0 {
		return p
	}
	p.queue = make(chan purgeJob, purgeQueueLen)
	p.wg.Add(purgeWorkers)
	for range purgeWorkers {
		go p.work()
	}
	return p
}

// newClient returns the client for CDN APIs. It dials through guard
// (netguard.Default when nil), like upstream fetches, and takes no proxy
// from the environment. It follows no redirects: a redirect would carry the
// API credentials in the configured headers to wherever the Location
// points.
func newClient(guard *netguard.Guard) *http.Client {
	if guard == nil {
		guard = netguard.Default()
	}
	t := guard.Transport(purgeTimeout, purgeTimeout)
	// Only the purge workers hold connections.
	t.MaxIdleConns, t.MaxIdleConnsPerHost = purgeWorkers*4, purgeWorkers
	return &http.Client{
		Transport:     t,
		Timeout:       purgeTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Purge queues the purge requests for tag and returns at once. A request
// for tag still waiting in the queue is not queued twice. When the queue
// is full the purge is dropped, counted and logged: blocking would stall
// the invalidation that called it.
func (p *Purger) Purge(tag string) {
	if p == nil || len(p.reqs) == 0 {
		return
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for i := range p.reqs {
		job := purgeJob{tag: tag, req: &p.reqs[i]}
		if p.closed {
			p.fail(job, 0, errors.New("dropped: shutting down"))
			continue
		}
		if !p.markQueued(job) {
			p.results.WithLabelValues(purgeCoalesced).Inc()
			continue
		}
		select {
		case p.queue <- job:
		default:
			p.unmarkQueued(job)
			p.fail(job, 0, errors.New("dropped: queue full"))
		}
	}
}

// markQueued records job as waiting in the queue, and reports false when
// it already was.
func (p *Purger) markQueued(job purgeJob) bool {
	p.queuedMu.Lock()
	defer p.queuedMu.Unlock()
	if _, ok := p.queued[job]; ok {
		return false
	}
	p.queued[job] = struct{}{}
	return true
}

func (p *Purger) unmarkQueued(job purgeJob) {
	p.queuedMu.Lock()
	defer p.queuedMu.Unlock()
	delete(p.queued, job)
}

// Close stops accepting purges and waits up to the drain bound for the
// queued ones; what is still pending then is abandoned.
func (p *Purger) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	if p.queue != nil {
		close(p.queue)
	}
	p.mu.Unlock()

	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(p.drain):
		p.log.Warn("abandoning CDN purges still pending at shutdown", "queued", len(p.queue))
		p.cancel()
		<-done
	}
	p.cancel()
}

func (p *Purger) work() {
	defer p.wg.Done()
	for job := range p.queue {
		p.unmarkQueued(job)
		p.run(job)
	}
}

// run sends one job, retrying transient failures with exponential backoff.
func (p *Purger) run(job purgeJob) {
	wait := p.backoff
	for attempt := 1; ; attempt++ {
		retry, err := p.send(job)
		if err == nil {
			p.results.WithLabelValues(purgeOK).Inc()
			return
		}
		if !retry || attempt == purgeAttempts || p.ctx.Err() != nil {
			p.fail(job, attempt, err)
			return
		}
		p.results.WithLabelValues(purgeRetry).Inc()
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-p.ctx.Done():
			timer.Stop()
			p.fail(job, attempt, err)
			return
		}
		wait *= 2
	}
}

// fail counts and logs a purge given up on. The log names the request by
// method and URL without its query or user info; header values, where the
// CDN credentials live, are never logged.
func (p *Purger) fail(job purgeJob, attempts int, err error) {
	p.results.WithLabelValues(purgeFailed).Inc()
	if p.ctx.Err() != nil {
		return // Close has already said that it abandons the rest
	}
	p.log.Error("CDN purge failed", "tag", job.tag, "method", job.req.Method,
		"url", loggableURL(job.req.URL), "attempts", attempts, "err", err)
}

// send makes one attempt. retry tells whether a failure may be transient.
func (p *Purger) send(job purgeJob) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(p.ctx, purgeTimeout)
	defer cancel()

	target := strings.ReplaceAll(job.req.URL, "{tag}", url.QueryEscape(job.tag))
	var body io.Reader
	if job.req.Body != "" {
		// Tags are [a-z0-9_-] (see the proxy's purge tags), so they need no escaping
		// inside a JSON string either.
		body = strings.NewReader(strings.ReplaceAll(job.req.Body, "{tag}", job.tag))
	}
	req, err := http.NewRequestWithContext(ctx, job.req.Method, target, body)
	if err != nil {
		return false, fmt.Errorf("building the request: %w", withoutURL(err))
	}
	for name, value := range job.req.Headers {
		value = strings.ReplaceAll(value, "{tag}", job.tag)
		if strings.EqualFold(name, "Host") {
			req.Host = value
			continue
		}
		req.Header.Set(name, value)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json") // what the CDN purge APIs take
	}

	res, err := p.client.Do(req)
	if err != nil {
		// A refused address stays refused: retrying would not help.
		return !errors.Is(err, netguard.ErrForbidden), withoutURL(err)
	}
	defer res.Body.Close()
	// 404 is success: the CDN has nothing cached under that tag or URL.
	if res.StatusCode/100 == 2 || res.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // reuse the connection
		return false, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, purgeLogBody))
	err = fmt.Errorf("CDN answered %s: %q", res.Status, strings.TrimSpace(string(snippet)))
	switch code := res.StatusCode; {
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true, err
	}
	return false, err // other 4xx and 3xx: a configuration problem, retrying will not help
}

// withoutURL unwraps a *url.Error, which repeats the whole URL, query
// included, to its cause.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// loggableURL is a configured URL without the user info and query, which
// may hold tokens.
func loggableURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}
