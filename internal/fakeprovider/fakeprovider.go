// Package fakeprovider runs in-process fakes of the avatar providers (Box,
// ONLYOFFICE DocSpace, ActiveCollab and Gravatar) for tests. Each fake is an
// httptest server on 127.0.0.1 that speaks its provider's wire format,
// including the requests that change avatars, holds its users' avatars in
// memory, counts and records the requests it gets, and can hold a request
// so that a test can act while it is in flight. All fakes are safe for
// concurrent use.
package fakeprovider

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// Request is what a fake recorded about one request it served.
type Request struct {
	// Route is the pattern the request matched, one of the fake's route
	// constants such as BoxGetAvatar.
	Route  string
	Method string
	// URI is the request's path and query as received.
	URI string
	// UserID is the user the request was about, empty when none.
	UserID string
	// Credential is what the request carried in the provider's auth
	// header: the bearer token for Box, the Authorization value for
	// DocSpace, X-Angie-AuthApiToken for ActiveCollab.
	Credential string
}

// Gate holds one request of a route: the request is answered with the
// state the fake had when it arrived, but only once the gate is released.
type Gate struct {
	arrived     chan struct{}
	release     chan struct{}
	releaseOnce sync.Once
}

// Arrived is closed when the held request has arrived and its answer is
// ready.
func (g *Gate) Arrived() <-chan struct{} { return g.arrived }

// Release lets the held request's answer go; it may be called more than
// once, and before the request arrives, in which case it is not held.
func (g *Gate) Release() { g.releaseOnce.Do(func() { close(g.release) }) }

// server is what every fake shares: the HTTP server, the request log and
// the gates.
type server struct {
	srv *httptest.Server
	mux *http.ServeMux
	// credential extracts the provider's credential from a request.
	credential func(*http.Request) string

	mu       sync.Mutex
	requests []Request
	pending  map[string][]*Gate // by route, oldest first
	issued   []*Gate
}

func newServer(t testing.TB, credential func(*http.Request) string) *server {
	s := &server{
		mux:        http.NewServeMux(),
		credential: credential,
		pending:    make(map[string][]*Gate),
	}
	s.srv = httptest.NewServer(s.mux)
	t.Cleanup(s.Close)
	return s
}

// URL is the fake's root, as http://127.0.0.1:port.
func (s *server) URL() string { return s.srv.URL }

// Close releases every held request and shuts the fake down. Tests need not
// call it: the fake closes itself when the test ends.
func (s *server) Close() {
	s.mu.Lock()
	gates := slices.Clone(s.issued)
	s.mu.Unlock()
	for _, g := range gates {
		g.Release()
	}
	s.srv.Close()
}

// Hold makes the next request of route wait at the returned gate. Holds of
// one route apply to its requests in order.
func (s *server) Hold(route string) *Gate {
	g := &Gate{arrived: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending[route] = append(s.pending[route], g)
	s.issued = append(s.issued, g)
	return g
}

// Count returns how many requests route has served.
func (s *server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Route == route {
			n++
		}
	}
	return n
}

// Counts returns the number of requests served per route.
func (s *server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := make(map[string]int)
	for _, r := range s.requests {
		counts[r.Route]++
	}
	return counts
}

// Requests returns the requests served so far, oldest first.
func (s *server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// handle registers h for route, recording each request and holding it when
// a gate is pending. userID tells which user a request is about.
func (s *server) handle(route string, userID func(*http.Request) string, h http.HandlerFunc) {
	s.mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Route:      route,
			Method:     r.Method,
			URI:        r.RequestURI,
			UserID:     userID(r),
			Credential: s.credential(r),
		})
		var gate *Gate
		if q := s.pending[route]; len(q) > 0 {
			gate, s.pending[route] = q[0], q[1:]
		}
		s.mu.Unlock()

		if gate == nil {
			h(w, r)
			return
		}
		// Answer from the state as it is now, deliver it once released:
		// that is what a response in flight during a change looks like.
		rec := httptest.NewRecorder()
		h(rec, r)
		close(gate.arrived)
		select {
		case <-gate.release:
		case <-r.Context().Done():
			return
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// pathID is the userID function of routes with an {id} wildcard.
func pathID(r *http.Request) string { return r.PathValue("id") }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
