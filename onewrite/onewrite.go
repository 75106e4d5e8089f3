// Package onewrite sends a response that outgrows net/http's connection
// buffer in one write.
//
// net/http writes a response through a 4 KiB buffer. Headers and a body
// of more than about 3.6 KiB leave in two writes. A larger avatar (a
// 256 px JPEG is 5 to 20 KiB) therefore pays two system calls, two TCP
// sends and two wake-ups of the client: on loopback, a 6.4 KB avatar hit
// served 32-39k requests/s in two writes and 48-49k in one.
//
// A handler writes a whole body with Write, which holds the connection's
// writes while it writes and flushes the response, then sends what was
// held in one write. The server's listener comes from Listener and its
// ConnContext is ConnContext, which make a request's connection
// reachable from its context.
package onewrite

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// holdFrom is the body size from which a response's headers and body may
// outgrow net/http's 4 KiB connection buffer. The headers of an avatar
// take under 640 bytes unless a client sends a long request id; a smaller
// body leaves with them in one write anyway, and holding it would only
// add a copy.
const holdFrom = 4<<10 - 640

// maxHeld bounds the bytes a connection holds, and so what holding adds
// to a server's memory: at most maxHeld per connection writing a large
// response, to a client that may be slow to read it. A response larger
// than this is written as net/http writes it: the saving of one write
// matters less the larger the body.
const maxHeld = 32 << 10

// Listener returns ln with every accepted connection made one whose writes
// Write can hold. The connections share a pool of hold buffers.
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
	return &conn{Conn: c, buffers: l.buffers}, nil
}

// Write writes body as the whole of r's response, after its headers. A
// body from holdFrom up leaves with the headers in one write, when r's
// connection came from Listener; the response is flushed.
func Write(w http.ResponseWriter, r *http.Request, body []byte) {
	var c *conn
	if len(body) >= holdFrom {
		c = from(r.Context()) // a context lookup: only where it pays
	}
	if c == nil {
		w.Write(body)
		return
	}
	c.hold()
	defer c.release()
	w.Write(body)
	http.NewResponseController(w).Flush()
}

// conn is a connection whose writes can be held and released as one.
// Only the goroutine serving the connection's current request holds and
// releases: that is the goroutine net/http writes from.
type conn struct {
	net.Conn
	buffers *sync.Pool
	holding bool
	held    *[]byte // from buffers while holding
}

// hold makes the connection keep what is written to it, up to maxHeld
// bytes, until release.
func (c *conn) hold() {
	c.holding = true
}

// Write keeps p while the connection holds and p fits, and writes it
// through otherwise, after what was held.
func (c *conn) Write(p []byte) (int, error) {
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

// release sends what was held, in one write, and stops holding.
func (c *conn) release() error {
	c.holding = false
	return c.flush()
}

// flush writes the held bytes, if any, and returns the buffer.
func (c *conn) flush() error {
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
// of c's requests, for Write.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*conn); ok {
		return context.WithValue(ctx, contextKey{}, cc)
	}
	return ctx
}

// from returns the connection of the request whose context ctx is, or
// nil when the server was not set up with Listener and ConnContext.
func from(ctx context.Context) *conn {
	c, _ := ctx.Value(contextKey{}).(*conn)
	return c
}
