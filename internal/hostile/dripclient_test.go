package hostile

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// dripServer accepts one connection, reads the request head and then
// keep bytes of the body before it hangs up, or all of it when keep is
// negative; it returns the request it read.
func dripServer(t *testing.T, keep int) (string, <-chan *http.Request) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan *http.Request, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			close(got)
			return
		}
		defer conn.Close()
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			close(got)
			return
		}
		if keep < 0 {
			io.Copy(io.Discard, req.Body)
		} else {
			io.CopyN(io.Discard, req.Body, int64(keep))
		}
		got <- req
	}()
	return ln.Addr().String(), got
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestDripRequestSendsTheWholeBodyToAPatientServer(t *testing.T) {
	addr, got := dripServer(t, -1)
	sent, cut, err := DripRequest(dial(t, addr), UploadDripHead("/box"), 5, time.Millisecond, nil)
	if sent != 5 || cut || err != nil {
		t.Errorf("DripRequest = %d, %v, %v; want the 5 bytes sent, not cut", sent, cut, err)
	}
	req := <-got
	if req == nil || req.Method != http.MethodPost || req.URL.Path != "/box/users/1/avatar" || req.ContentLength != 5 {
		t.Errorf("the server read %+v, want a POST to /box/users/1/avatar announcing 5 bytes", req)
	}
}

func TestDripRequestIsCutWhenTheServerHangsUp(t *testing.T) {
	addr, got := dripServer(t, 2)
	// Whole, the body would take a quarter of an hour.
	const n = 1 << 20
	sent, cut, err := DripRequest(dial(t, addr), WebhookDripHead("ds"), n, time.Millisecond, nil)
	if !cut || sent < 2 || sent >= n || err != nil {
		t.Errorf("DripRequest = %d, %v, %v; want it cut after at least the 2 bytes read", sent, cut, err)
	}
	req := <-got
	if req == nil || req.URL.Path != "/webhooks/ds" || len(req.Header.Get("X-Docspace-Signature-256")) != len("sha256=")+64 {
		t.Errorf("the server read %+v, want a signed POST to /webhooks/ds", req)
	}
}

func TestDripRequestEndsWhenStopped(t *testing.T) {
	addr, _ := dripServer(t, -1)
	stop := make(chan struct{})
	close(stop)
	sent, cut, err := DripRequest(dial(t, addr), UploadDripHead("/box"), 1000, time.Hour, stop)
	if sent != 0 || cut || err != nil {
		t.Errorf("DripRequest stopped before it began = %d, %v, %v; want nothing sent, not cut", sent, cut, err)
	}
}
