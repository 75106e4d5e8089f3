package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/hostile"
	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// dripper is a client that announces a body and sends it a byte every
// dripEvery, so slowly that sending it whole would take 40 s.
type dripper struct {
	sent int
	cut  bool  // the server closed the connection before the body was whole
	err  error // the request head could not be sent
}

const (
	dripBody  = 400
	dripEvery = 100 * time.Millisecond
)

// startDripper connects to addr and drips a request with head in the
// background until the server hangs up or the body is whole; the returned
// channel then receives the outcome.
func startDripper(t *testing.T, addr, head string) <-chan dripper {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan dripper, 1)
	go func() {
		defer conn.Close()
		var d dripper
		d.sent, d.cut, d.err = hostile.DripRequest(conn, head, dripBody, dripEvery, nil)
		done <- d
	}()
	return done
}

// SIGTERM with slow-drip clients connected to the webhook and the
// pass-through: body_timeout and passthrough_body_timeout cut them, so
// draining ends well within shutdown_timeout and the process exits 0
// rather than giving up on them after shutdown_timeout with status 1.
func TestShutdownWithDrippers(t *testing.T) {
	o := newOrigin(t)
	addr := testproc.FreeAddr(t)
	p := startProxy(t, t.TempDir(), addr, fmt.Sprintf(`
listen: %q
shutdown_timeout: 30s
body_timeout: 5s
passthrough_body_timeout: 5s
upstreams:
  - {name: ds, kind: docspace, base_url: %q, api_key: k, webhook_secret: s3cret}
  - {name: box, kind: box, base_url: %q, token: t, passthrough_prefix: /box}
`, addr, o.URL, o.URL))

	var drippers []<-chan dripper
	for range 5 {
		drippers = append(drippers,
			startDripper(t, addr, hostile.WebhookDripHead("ds")),
			startDripper(t, addr, hostile.UploadDripHead("/box")))
	}
	// Every dripper is being served before the signal: ten requests and
	// the one that reads the gauge.
	client := &http.Client{Timeout: mustNotHang}
	for deadline := time.Now().Add(mustNotHang); metric(t, client, p.url, "avatarproxy_inflight_requests") < 11; {
		if time.Now().After(deadline) {
			t.Fatal("the drippers' requests never all reached the proxy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Signal(syscall.SIGTERM)
	if st := p.Wait(); st.ExitCode() != 0 {
		t.Errorf("avatarproxy exited with %v after SIGTERM with drippers connected, want status 0", st)
	}
	for _, done := range drippers {
		select {
		case d := <-done:
			if d.err != nil {
				t.Fatalf("a dripper could not send its request head: %v", d.err)
			}
			if !d.cut {
				t.Errorf("a dripper sent its whole body (%d bytes)", d.sent)
			}
		case <-time.After(mustNotHang):
			t.Fatal("a dripper still connected after the process exited")
		}
	}
}

// max_connections caps the connections each listener serves at once: with
// the cap held by clients still sending their headers, another client is
// served only once one of them leaves.
func TestMaxConnections(t *testing.T) {
	addr := testproc.FreeAddr(t)
	startProxy(t, t.TempDir(), addr, fmt.Sprintf(`
listen: %q
max_connections: 3
upstreams:
  - {name: local, kind: file, root: .}
`, addr))
	// startProxy's probe may have left its connection open.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	var holders []net.Conn
	for range 3 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Half a request: the server holds the connection for it.
		fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\n")
		holders = append(holders, conn)
	}

	var (
		mu       sync.Mutex
		released bool
	)
	answered := make(chan bool, 1) // whether a holder had left by then
	go func() {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			answered <- false
			return
		}
		defer conn.Close()
		fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
		_ = conn.SetReadDeadline(time.Now().Add(mustNotHang))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			res.Body.Close()
		}
		mu.Lock()
		defer mu.Unlock()
		answered <- err == nil && released
	}()
	// Long enough for an uncapped server to answer many times over.
	time.Sleep(time.Second)
	mu.Lock()
	released = true
	holders[0].Close()
	mu.Unlock()
	select {
	case ok := <-answered:
		if !ok {
			t.Error("a fourth connection was served while three held the cap")
		}
	case <-time.After(mustNotHang):
		t.Fatal("the fourth connection was never served, though a holder left")
	}
}
