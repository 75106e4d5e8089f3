package main

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/hostile"
)

// Slow-drip clients: each announces a request body and sends it a byte at
// a time, as an attacker holding connections open would, on the webhook
// and the pass-through faces. The proxy must cut each within its body
// timeout, during the load and while it drains on SIGTERM.
const (
	drippersEach   = 4                      // per face
	dripBody       = 4096                   // announced body: far more than is ever sent
	dripEvery      = 500 * time.Millisecond // one byte this often
	dripMaxHold    = 10 * time.Second       // longest a dripper may be held: the body timeouts below plus slack
	dripRedialWait = 200 * time.Millisecond // after a refused connection
	dripSecret     = "soak-webhook-secret"
)

// dripHeads are the request heads of the drippers: on the webhook of the
// upstream "hook" and through the pass-through of "pass".
var dripHeads = []string{hostile.WebhookDripHead("hook"), hostile.UploadDripHead("/pass")}

// drippers runs the slow-drip clients and counts what became of them.
type drippers struct {
	addr    string
	stop    chan struct{}
	wg      sync.WaitGroup
	cut     atomic.Int64 // connections the proxy closed
	overdue atomic.Int64 // of them, held beyond dripMaxHold
	longest atomic.Int64 // nanoseconds, the longest a connection was held
}

func startDrippers(addr string) *drippers {
	d := &drippers{addr: addr, stop: make(chan struct{})}
	for _, head := range dripHeads {
		for range drippersEach {
			d.wg.Add(1)
			go d.loop(head)
		}
	}
	return d
}

// Stop ends the drippers and waits for them.
func (d *drippers) Stop() {
	close(d.stop)
	d.wg.Wait()
}

func (d *drippers) loop(head string) {
	defer d.wg.Done()
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		if !d.once(head) {
			select {
			case <-d.stop:
				return
			case <-time.After(dripRedialWait):
			}
		}
	}
}

// once holds one connection until the proxy closes it or the drippers
// stop; it returns false when the proxy refused the connection.
func (d *drippers) once(head string) bool {
	conn, err := net.Dial("tcp", d.addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	start := time.Now()
	if _, _, err := hostile.DripRequest(conn, head, dripBody, dripEvery, d.stop); err != nil {
		return false
	}
	select {
	case <-d.stop:
	default:
		// Cut, or the whole body went in and it was never cut: either way
		// the proxy held it this long.
		d.held(time.Since(start))
	}
	return true
}

func (d *drippers) held(t time.Duration) {
	d.cut.Add(1)
	if t > dripMaxHold {
		d.overdue.Add(1)
	}
	for {
		old := d.longest.Load()
		if int64(t) <= old || d.longest.CompareAndSwap(old, int64(t)) {
			return
		}
	}
}

func (d *drippers) line() string {
	return fmt.Sprintf("drip[cut=%d longest=%.1fs]", d.cut.Load(), time.Duration(d.longest.Load()).Seconds())
}

func (d *drippers) failures() []string {
	var f []string
	if n := d.overdue.Load(); n > 0 {
		f = append(f, fmt.Sprintf("%d slow-drip connections held beyond %s", n, dripMaxHold))
	}
	if d.cut.Load() == 0 {
		f = append(f, "no slow-drip connection was ever cut")
	}
	return f
}
