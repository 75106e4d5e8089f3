package main

import (
	"net"
	"net/http"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/hostile"
)

// origin serves internal/hostile's avatars, good and bad, on a loopback
// port: the http upstream of the proxy under test.
type origin struct {
	srv  *http.Server
	addr string
}

func startOrigin() (*origin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o := &origin{addr: ln.Addr().String()}
	o.srv = &http.Server{Handler: hostile.New(), ReadHeaderTimeout: 10 * time.Second}
	go o.srv.Serve(ln)
	return o, nil
}

// Close stops the origin, cutting the answers in flight.
func (o *origin) Close() { o.srv.Close() }
