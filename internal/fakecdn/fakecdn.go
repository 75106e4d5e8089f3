// Package fakecdn is a CDN purge API for tests: it records the purge
// requests it gets and answers them with the statuses it is told, then 204.
package fakecdn

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
)

// mustNotHang bounds waits for purges that should arrive promptly.
const mustNotHang = 10 * time.Second

// Request is what the CDN recorded about one request.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         string
}

// CDN records purge requests. With HoldAll, requests wait until released,
// or until the client gives up, which Cancelled reports.
type CDN struct {
	*httptest.Server
	got       chan Request
	Cancelled chan struct{}

	mu       sync.Mutex
	statuses []int
	hold     chan struct{}
}

// New starts a CDN on loopback, closed when the test ends.
func New(t testing.TB) *CDN {
	c := &CDN{got: make(chan Request, 8192), Cancelled: make(chan struct{}, 8192)}
	c.Server = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.Close)
	return c
}

// Answer queues the statuses of the next requests.
func (c *CDN) Answer(statuses ...int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statuses = append(c.statuses, statuses...)
}

// HoldAll makes requests wait until the returned function is called.
func (c *CDN) HoldAll() (release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hold := make(chan struct{})
	c.hold = hold
	var once sync.Once
	return func() { once.Do(func() { close(hold) }) }
}

func (c *CDN) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	status := http.StatusNoContent
	if len(c.statuses) > 0 {
		status, c.statuses = c.statuses[0], c.statuses[1:]
	}
	hold := c.hold
	c.mu.Unlock()
	c.got <- Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: string(body)}
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			c.Cancelled <- struct{}{}
			return
		}
	}
	w.WriteHeader(status)
}

// Next returns the next request the CDN got, failing the test when none
// comes.
func (c *CDN) Next(t testing.TB) Request {
	t.Helper()
	select {
	case r := <-c.got:
		return r
	case <-time.After(mustNotHang):
		t.Fatal("the CDN got no purge request")
		return Request{}
	}
}

// Requests is how many requests arrived and were not taken by Next.
func (c *CDN) Requests() int { return len(c.got) }

// VarnishPurge is a purge request for this CDN in Varnish's xkey style.
func (c *CDN) VarnishPurge() config.PurgeRequest {
	return config.PurgeRequest{Method: "PURGE", URL: c.URL + "/", Headers: map[string]string{"xkey-purge": "{tag}"}}
}
