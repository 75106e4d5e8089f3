// Package fakeprovider runs in-process fakes of the avatar providers (Box,
// ONLYOFFICE DocSpace, ActiveCollab and Gravatar) for tests and the soak.
// Each fake is an HTTP server on 127.0.0.1 that speaks its provider's wire format,
// including the requests that change avatars, holds its users' avatars in
// memory, counts and records the requests it gets, and can hold a request
// so that a test can act while it is in flight. All fakes are safe for
// concurrent use. The package links no testing code: tests start the
// fakes through fakeprovidertest, which closes them when the test ends.
package fakeprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
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
	srv    *http.Server
	url    string
	served chan struct{} // closed once Serve has returned
	mux    *http.ServeMux
	// credential extracts the provider's credential from a request.
	credential func(*http.Request) string

	mu       sync.Mutex
	requests []Request
	pending  map[string][]*Gate // by route, oldest first
	issued   []*Gate
}

// closeWait bounds how long Close waits for requests in flight.
const closeWait = 10 * time.Second

func newServer(credential func(*http.Request) string) *server {
	return &server{
		mux:        http.NewServeMux(),
		credential: credential,
		pending:    make(map[string][]*Gate),
		served:     make(chan struct{}),
	}
}

// start serves the routes registered so far on a free loopback port.
func (s *server) start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: closeWait}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return nil
}

// started starts the server a fake f embeds and returns f, for the
// fakes' constructors.
func started[F interface{ start() error }](f F) (F, error) {
	if err := f.start(); err != nil {
		var none F
		return none, err
	}
	return f, nil
}

// URL is the fake's root, as http://127.0.0.1:port.
func (s *server) URL() string { return s.url }

// Close releases every held request, lets the requests in flight finish
// and shuts the fake down.
func (s *server) Close() {
	s.mu.Lock()
	gates := slices.Clone(s.issued)
	s.mu.Unlock()
	for _, g := range gates {
		g.Release()
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		_ = s.srv.Close()
	}
	<-s.served
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
		rec := &recorder{header: make(http.Header)}
		h(rec, r)
		close(gate.arrived)
		select {
		case <-gate.release:
		case <-r.Context().Done():
			return
		}
		maps.Copy(w.Header(), rec.header)
		w.WriteHeader(max(rec.status, http.StatusOK))
		_, _ = w.Write(rec.body.Bytes())
	})
}

// recorder keeps an answer until a gate lets it go.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// pathID is the userID function of routes with an {id} wildcard.
func pathID(r *http.Request) string { return r.PathValue("id") }

// jsonRoute is the preamble every JSON API handler of the fakes shares: it
// checks the request's credential with authorized (which answers a bad
// one), holds mu while h runs, and writes h's answer as JSON, or the
// status alone when the body is nil.
func jsonRoute(mu *sync.Mutex, authorized func(http.ResponseWriter, *http.Request) bool,
	h func(r *http.Request) (status int, body any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		mu.Lock()
		status, body := h(r)
		mu.Unlock()
		if body == nil {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	}
}

// userRoute is jsonRoute for a request about the user of the {id}
// wildcard, looked up in users with their lock held; notFound is the
// answer for an unknown one.
func userRoute[U any](users userTable[U], authorized func(http.ResponseWriter, *http.Request) bool,
	notFound func() (int, any), h func(r *http.Request, id string, user *U) (status int, body any)) http.HandlerFunc {
	return jsonRoute(users.mu, authorized, func(r *http.Request) (int, any) {
		id := r.PathValue("id")
		user, ok := users.findLocked(id)
		if !ok {
			return notFound()
		}
		return h(r, id, user)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
