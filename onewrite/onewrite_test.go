package onewrite

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/avatarproxy/avatarproxy/internal/writecount"
)

// body is n bytes that differ along their length, so that a lost or
// reordered piece shows.
func body(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7 / 3)
	}
	return b
}

// serve starts a server that answers /{n} with n bytes, through Write when
// asked with ?hold=1, the way the avatar handler does.
func serve(t *testing.T) (url string, writes *writecount.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	writes = writecount.New(ln)
	srv := &http.Server{
		ConnContext: ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := strconv.Atoi(r.URL.Path[1:])
			b := body(n)
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			if r.URL.Query().Get("hold") == "" {
				w.Write(b)
				return
			}
			Write(w, r, b)
		}),
	}
	go srv.Serve(Listener(writes))
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), writes
}

func TestHeldResponseLeavesInOneWrite(t *testing.T) {
	url, writes := serve(t)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	cases := []struct {
		size       int
		hold       bool
		wantWrites int64 // 0: not checked
	}{
		{9000, false, 2}, // net/http's 4 KiB buffer splits it
		{9000, true, 1},
		{100, true, 1},
		{4000, true, 1},
		{30000, true, 1},
		{200 << 10, true, 0}, // beyond what a connection holds: just correct
		{9000, true, 1},      // the same connection again, its buffer reused
		{0, true, 1},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%d bytes, hold %v", c.size, c.hold)
		before := writes.Writes()
		u := fmt.Sprintf("%s/%d", url, c.size)
		if c.hold {
			u += "?hold=1"
		}
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, body(c.size)) {
			t.Fatalf("%s: the body came back altered (%d bytes)", name, len(got))
		}
		if n := writes.Writes() - before; c.wantWrites != 0 && n != c.wantWrites {
			t.Errorf("%s: %d writes, want %d", name, n, c.wantWrites)
		}
	}
}

func TestFromWithoutTheListenerIsNil(t *testing.T) {
	if c := from(t.Context()); c != nil {
		t.Fatalf("from of a plain context = %v, want nil", c)
	}
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	if ctx := ConnContext(t.Context(), server); from(ctx) != nil {
		t.Fatal("a connection not from Listener was made reachable")
	}
}
