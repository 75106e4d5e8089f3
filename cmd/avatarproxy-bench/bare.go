package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// The net/http floor: a bare net/http handler that writes avatarproxy's
// own hit responses, their headers and bytes as captured from the proxy,
// under the proxy's server timeouts, with nothing else: no routing, no
// parsing, no cache lookup, no metrics. What separates avatarproxy from it
// is avatarproxy's own work; what separates it from nginx static is
// net/http's and the Go runtime's.

// bareCommand is the argument that makes this binary the floor server.
const bareCommand = "bare-server"

// bareResponse is one captured response, served at path.
type bareResponse struct {
	Path   string
	Header http.Header
	Body   []byte
}

// serveBare serves the responses in file on addr until killed.
func serveBare(addr, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var list []bareResponse
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		// As cmd/avatarproxy sets them: the floor pays what the proxy pays.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		Handler:           bareHandler(list),
	}
	return srv.Serve(ln)
}

// bareHandler writes the response captured for the request's path, its
// headers assigned as they were captured, and nothing else.
func bareHandler(list []bareResponse) http.Handler {
	byPath := make(map[string]bareResponse, len(list))
	for _, r := range list {
		byPath[r.Path] = r
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		for name, values := range resp.Header {
			h[name] = values
		}
		w.Write(resp.Body)
	})
}

// startBare starts the floor server serving list.
func (e *env) startBare(list []bareResponse) (*server, error) {
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(e.dir, "bare.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return e.start("bare", addr, nil, self, bareCommand, addr, file)
}
