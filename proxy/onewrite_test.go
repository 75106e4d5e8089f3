package proxy

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"testing"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/internal/writecount"
	"github.com/avatarproxy/avatarproxy/onewrite"
)

// A hit whose headers and body outgrow net/http's 4 KiB buffer leaves in
// one write when the server is set up as cmd/avatarproxy sets it up, and
// so does a small one.
func TestHitLeavesInOneWrite(t *testing.T) {
	h := newHarness(t, nil)
	h.writeFile("u.png", testimages.PNG(grainy(256)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := writecount.New(ln)
	srv := &http.Server{Handler: h.srv.Handler(true), ConnContext: onewrite.ConnContext}
	go srv.Serve(onewrite.Listener(counted))
	t.Cleanup(func() { srv.Close() })
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)

	get := func(path string) (status int, size int, writes int64) {
		t.Helper()
		before := counted.Writes()
		resp, err := client.Get(fmt.Sprintf("http://%s%s", ln.Addr(), path))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, len(body), counted.Writes() - before
	}
	for _, c := range []struct {
		path    string
		minSize int
	}{
		{"/avatar/local/u?size=256&format=jpeg", 6 << 10},
		{"/avatar/local/u?size=16&format=jpeg", 1},
	} {
		get(c.path) // the miss
		h.srv.avatars.variants.Wait()
		status, size, writes := get(c.path)
		// Above 32 KiB the connection no longer holds (package onewrite).
		if status != 200 || size < c.minSize || size > 30<<10 {
			t.Fatalf("%s: status %d, %d bytes; the test wants a 200 of %d bytes to 30 KiB", c.path, status, size, c.minSize)
		}
		if writes != 1 {
			t.Errorf("%s (%d bytes): the hit left in %d writes, want 1", c.path, size, writes)
		}
	}
}

// grainy is an edge x edge picture with fine grain, which no encoder
// makes small.
func grainy(edge int) *image.NRGBA {
	r := rand.New(rand.NewPCG(1, 2))
	m := image.NewNRGBA(image.Rect(0, 0, edge, edge))
	for y := range edge {
		for x := range edge {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x + r.IntN(40)), uint8(y + r.IntN(40)), uint8(r.IntN(60)), 0xff})
		}
	}
	return m
}
