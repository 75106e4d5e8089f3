package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/avatarproxy/avatarproxy/internal/process"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// floodOverhead is what the process may hold beyond cache.max_bytes under
// the flood below: the Go runtime, libvips and its decode buffers, and the
// generation records' share (the README's figure).
const floodOverhead = 112 << 20

// A flood of new user ids, each with a fresh version token, and of ids far
// over the limit, keeps the process within cache.max_bytes plus a fixed
// overhead: nothing keyed by what a client sends grows without bound.
func TestUserIDFloodStaysWithinMemoryBound(t *testing.T) {
	const (
		maxBytes   = 32 << 20
		requests   = 10000
		longIDs    = 2000
		workers    = 4
		idLen      = 250
		longIDSize = 60 << 10
	)
	img := testimages.SeededPNG("flood", 96, 96)
	var fetches atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(img)
	}))
	t.Cleanup(origin.Close)

	addr := testproc.FreeAddr(t)
	p := testproc.Proxy(t, t.TempDir(), addr, fmt.Sprintf(`
listen: %q
cache: {max_bytes: %d}
upstreams:
  - {name: web, kind: http, url_template: "%s/a/{user_id}"}
`, addr, maxBytes, origin.URL))
	base := "http://" + addr

	var statusErr atomic.Value
	run := func(n int, url func(i int) string, want int) {
		var wg sync.WaitGroup
		var next atomic.Int64
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: testproc.MustNotHang}
				for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
					res, err := client.Get(url(i))
					if err != nil {
						statusErr.Store(err.Error())
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != want {
						statusErr.Store(fmt.Sprintf("%s...: status %d, want %d", url(i)[:80], res.StatusCode, want))
						return
					}
				}
			}()
		}
		wg.Wait()
		if e := statusErr.Load(); e != nil {
			t.Fatal(e)
		}
	}
	id := func(i, length int) string {
		s := strconv.Itoa(i) + "-"
		return s + strings.Repeat("x", length-len(s))
	}
	run(requests, func(i int) string {
		return fmt.Sprintf("%s/avatar/web/%s?size=32&format=png&v=t%d", base, id(i, idLen), i)
	}, http.StatusOK)
	run(longIDs, func(i int) string {
		return fmt.Sprintf("%s/avatar/web/%s?size=32&v=t%d", base, id(i, longIDSize), i)
	}, http.StatusBadRequest)

	rss, err := process.RSS(p.Cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests with fresh %d-byte ids and tokens, %d with %d-byte ids: %d fetches, RSS %.1f MiB (cache.max_bytes %d MiB + %d MiB allowed)",
		requests, idLen, longIDs, longIDSize, fetches.Load(), float64(rss)/(1<<20), maxBytes>>20, floodOverhead>>20)
	if rss > maxBytes+floodOverhead {
		t.Fatalf("RSS %.1f MiB, above cache.max_bytes plus %d MiB", float64(rss)/(1<<20), floodOverhead>>20)
	}
}
