// Package writecount counts the writes made to the connections a listener
// accepts, for tests of how many system calls a response leaves in.
package writecount

import (
	"net"
	"sync/atomic"
)

// Listener counts the writes to every connection it accepts.
type Listener struct {
	net.Listener
	writes atomic.Int64
}

// New wraps ln.
func New(ln net.Listener) *Listener { return &Listener{Listener: ln} }

// Writes is the number of writes made so far, on all connections.
func (l *Listener) Writes() int64 { return l.writes.Load() }

func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return conn{Conn: c, writes: &l.writes}, nil
}

type conn struct {
	net.Conn
	writes *atomic.Int64
}

func (c conn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}
