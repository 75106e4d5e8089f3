// Package onewrite sends a response that outgrows net/http's connection
// buffer in one write.
//
// net/http writes a response through a 4 KiB buffer. Headers and a body
// of more than about 3.6 KiB leave in two writes. A larger avatar (a
// 256 px JPEG is 5 to 20 KiB) therefore pays two system calls, two TCP
// sends and two wake-ups of the client: on loopback, a 6.4 KB avatar hit
// served 32-39k requests/s in two writes and 48-49k in one.
//
// A handler that knows it is about to write a whole response holds its
// connection's writes, writes and flushes the response, and releases
// them. The connection then sends what it held in one write.
//
// The package has three parts:
//   - Listener wraps the connections a server accepts;
//   - ConnContext makes them reachable from a request's context;
//   - From finds the connection of a request.
package onewrite

import (
	"context"
	"net"
	"sync"
)

// maxHeld bounds the bytes a connection holds, and so what holding adds
// to a server's memory: at most maxHeld per connection writing a large
// response, to a client that may be slow to read it. A response larger
// than this is written as net/http writes it: the saving of one write
// matters less the larger the body.
const maxHeld = 32 << 10

// Listener returns ln with every accepted connection made a *Conn. The
// connections share a pool of hold buffers.
func Listener(ln net.Listener) net.Listener {
	return &listener{Listener: ln, buffers: &sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}}
}

type listener struct {
	net.Listener
	buffers *sync.Pool
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c, buffers: l.buffers}, nil
}

// Conn is a connection whose writes a handler can hold and release as
// one. Only the goroutine serving the connection's current request may
// call Hold and Release: that is the goroutine net/http writes from.
type Conn struct {
	net.Conn
	buffers *sync.Pool
	holding bool
	held    *[]byte // from buffers while holding
}

// Hold makes the connection keep what is written to it, up to maxHeld
// bytes, until Release.
func (c *Conn) Hold() {
	c.holding = true
}

// Write keeps p while the connection holds and p fits, and writes it
// through otherwise, after what was held.
func (c *Conn) Write(p []byte) (int, error) {
	if !c.holding {
		return c.Conn.Write(p)
	}
	if c.held == nil {
		c.held = c.buffers.Get().(*[]byte)
	}
	if len(*c.held)+len(p) <= maxHeld {
		*c.held = append(*c.held, p...)
		return len(p), nil
	}
	// Too much to hold: send what was held, then p, and stop holding.
	if err := c.flush(); err != nil {
		return 0, err
	}
	c.holding = false
	return c.Conn.Write(p)
}

// Release sends what was held, in one write, and stops holding.
func (c *Conn) Release() error {
	c.holding = false
	return c.flush()
}

// flush writes the held bytes, if any, and returns the buffer.
func (c *Conn) flush() error {
	if c.held == nil {
		return nil
	}
	b := c.held
	c.held = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	*b = (*b)[:0]
	c.buffers.Put(b)
	return err
}

type contextKey struct{}

// ConnContext is an http.Server's ConnContext: it puts c in the context
// of c's requests, for From.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*Conn); ok {
		return context.WithValue(ctx, contextKey{}, cc)
	}
	return ctx
}

// From returns the connection of the request whose context ctx is, or
// nil when the server was not set up with Listener and ConnContext.
func From(ctx context.Context) *Conn {
	c, _ := ctx.Value(contextKey{}).(*Conn)
	return c
}
