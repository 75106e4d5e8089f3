package proxy

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/cache"
	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakecdn"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

const immutable = "public, max-age=31536000, immutable"

// A token is part of what the original is: a confirmed one never asks the
// upstream, a new one asks at most once per interval and, inside it, gets
// the newest picture known without the immutable promise.
func TestVersionTokens(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, green)))
	r := h.get("/avatar/web/u?size=30&format=png&v=1")
	if !sameColour(pixelAt(t, r.body, 15, 15), green) || r.Header.Get("Cache-Control") != immutable {
		t.Fatalf("first versioned request: Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, red)))
	gets := h.origin.gets.Load()
	r = h.get("/avatar/web/u?size=30&format=png&v=1")
	if !sameColour(pixelAt(t, r.body, 15, 15), green) || h.origin.gets.Load() != gets {
		t.Fatal("a confirmed token asked the upstream again")
	}

	// Inside the interval a new token gets the newest picture known, for
	// no longer than the interval.
	for _, q := range []string{"v=2", "timestamp=2", "hash=2"} {
		r = h.get("/avatar/web/u?size=30&format=png&" + q)
		h.mustStatus(r, 200)
		if !sameColour(pixelAt(t, r.body, 15, 15), green) || h.origin.gets.Load() != gets {
			t.Fatalf("%s inside the interval asked the upstream", q)
		}
		if got := r.Header.Get("Cache-Control"); got != "public, max-age=10" {
			t.Fatalf("%s unconfirmed: Cache-Control %q", q, got)
		}
	}

	// After it, the new token shows the new picture, for good.
	h.clock.Advance(10 * time.Second)
	r = h.get("/avatar/web/u?size=30&format=png&v=2")
	if !sameColour(pixelAt(t, r.body, 15, 15), red) || r.Header.Get("Cache-Control") != immutable {
		t.Fatalf("new token after the interval: Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if h.origin.gets.Load() != gets+1 || h.origin.conditional.Load() != 1 {
		t.Fatalf("%d fetches (%d conditional) for one new token", h.origin.gets.Load()-gets, h.origin.conditional.Load())
	}
	h.clock.Advance(time.Hour - time.Minute) // the original stays fresh
	for _, q := range []string{"size=30&format=png&v=2", "size=30&format=png&v=1", "size=30&format=png"} {
		r = h.get("/avatar/web/u?" + q)
		if !sameColour(pixelAt(t, r.body, 15, 15), red) {
			t.Fatalf("%s: old picture after the new token was confirmed", q)
		}
	}
	if h.origin.gets.Load() != gets+1 {
		t.Fatal("seen tokens asked the upstream again")
	}
	if m := metricsText(h); strings.Contains(m, "avatarproxy_invalidations_total{") {
		t.Errorf("a version token counted as an invalidation:\n%s", grepLines(m, "invalidations"))
	}
}

// Replaying the URLs of thousands of users, each with its token, asks the
// upstream nothing and purges nobody, whatever the number of users.
func TestVersionReplayManyUsers(t *testing.T) {
	const users = 4000
	cdn := fakecdn.New(t)
	h := newHarness(t, func(c *config.Config) {
		c.Cache.MaxBytes = 64 << 20
		c.HTTP.PurgeRequests = []config.PurgeRequest{cdn.VarnishPurge()}
	})
	img := testimages.PNG(testimages.Solid(48, 48, green))
	for i := range users {
		h.origin.set(fmt.Sprintf("u%d", i), img)
	}
	url := func(i int) string { return fmt.Sprintf("/avatar/web/u%d?size=24&format=png&v=%d", i, 1000+i) }
	for i := range users {
		h.mustStatus(h.get(url(i)), 200)
	}
	first := h.origin.gets.Load()
	if first != users {
		t.Fatalf("%d fetches for %d users", first, users)
	}
	for round := range 2 {
		for i := range users {
			r := h.get(url(i))
			h.mustStatus(r, 200)
			if r.Header.Get("X-Cache") != "HIT" {
				t.Fatalf("round %d, user %d: X-Cache %q", round, i, r.Header.Get("X-Cache"))
			}
		}
	}
	t.Logf("replay: %d fetches for %d users on the first pass, %d on two replays", first, users, h.origin.gets.Load()-first)
	if again := h.origin.gets.Load() - first; again != 0 {
		t.Fatalf("replaying seen tokens fetched %d originals again", again)
	}
	if n := invalidations(t, h); n != 0 {
		t.Fatalf("replaying seen tokens invalidated %d users", n)
	}
	if n := cdn.Requests(); n != 0 {
		t.Fatalf("replaying seen tokens sent %d CDN purges", n)
	}
}

// A client inventing a token on every request costs at most one upstream
// fetch per user per interval, and never a CDN purge.
func TestRandomTokensAreCheap(t *testing.T) {
	const users, perUser, rounds = 20, 25, 3
	cdn := fakecdn.New(t)
	h := newHarness(t, func(c *config.Config) {
		c.HTTP.PurgeRequests = []config.PurgeRequest{cdn.VarnishPurge()}
	})
	for i := range users {
		h.origin.set(fmt.Sprintf("u%d", i), testimages.PNG(testimages.Solid(48, 48, green)))
	}
	token := 0
	for round := range rounds {
		before := h.origin.gets.Load()
		for range perUser {
			for i := range users {
				token++
				h.mustStatus(h.get(fmt.Sprintf("/avatar/web/u%d?size=24&format=png&v=r%d", i, token)), 200)
			}
		}
		fetched := h.origin.gets.Load() - before
		t.Logf("round %d: %d requests with fresh tokens, %d fetches for %d users", round, perUser*users, fetched, users)
		if fetched > users {
			t.Fatalf("round %d: %d fetches for %d users in one interval", round, fetched, users)
		}
		h.clock.Advance(10 * time.Second)
	}
	if n := invalidations(t, h); n != 0 {
		t.Fatalf("fresh tokens invalidated %d times", n)
	}
	// The CDN path works: a purge reaches it, and it is the first request.
	h.mustStatus(h.do(http.MethodPost, "/purge/web/u3", http.Header{"Authorization": {"Bearer purge-secret"}}), 204)
	if got := cdn.Next(t).Header.Get("xkey-purge"); got != "avatar-web-u3" {
		t.Fatalf("the first CDN purge is for %q, not the purged user", got)
	}
}

// Many requests carrying one new token at once cost one fetch and one
// resize.
func TestNewTokenBurstCollapses(t *testing.T) {
	const burst = 32
	h := newHarness(t, nil)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, green)))
	gets, resizes := h.origin.gets.Load(), resizeCount(t, h)

	hold := h.origin.holdNext()
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	defer release() // also when the wait below fails
	var wg sync.WaitGroup
	statuses := make(chan int, burst)
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get(h.http.URL + "/avatar/web/u?size=30&format=png&v=1")
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	<-h.origin.arrived
	// Every request is in the handler before the upstream answers (the
	// metrics request counts itself).
	waitFor(t, func() bool {
		return sumMetric(t, metricsText(h), "avatarproxy_inflight_requests") == burst+1
	})
	release()
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Fatalf("status %d", s)
		}
	}
	h.settle()
	if n := h.origin.gets.Load() - gets; n != 1 {
		t.Errorf("%d fetches for one new token", n)
	}
	if n := resizeCount(t, h) - resizes; n != 1 {
		t.Errorf("%d resizes for one new token", n)
	}
}

// A generation record dropped under byte pressure does not bring back the
// entries its purge made unreachable.
func TestPurgedUserStaysPurgedWhenItsRecordIsDropped(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.avatars.gens = cache.NewLocalGenerations(time.Hour, 2048)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, green)))
	h.mustStatus(h.get("/avatar/web/u?size=30&format=png"), 200)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, red)))
	purge := http.Header{"Authorization": {"Bearer purge-secret"}}
	h.mustStatus(h.do(http.MethodPost, "/purge/web/u", purge), 204)
	for i := range 40 { // push u's record out
		h.mustStatus(h.do(http.MethodPost, "/purge/web/other"+strconv.Itoa(i), purge), 204)
	}
	if h.srv.avatars.gens.(*cache.LocalGenerations).Len() >= 40 {
		t.Fatal("no record was dropped")
	}
	r := h.get("/avatar/web/u?size=30&format=png")
	if !sameColour(pixelAt(t, r.body, 15, 15), red) {
		t.Fatalf("the purged picture came back (X-Cache %q)", r.Header.Get("X-Cache"))
	}
}

func TestUserIDLimit(t *testing.T) {
	ac := fakeprovidertest.NewActiveCollab(t, "ac-token")
	h := harnessWith(t, config.Upstream{Name: "ac", Kind: "activecollab", BaseURL: ac.URL(), Token: "ac-token"})
	at, over := strings.Repeat("a", maxUserIDLen), strings.Repeat("a", maxUserIDLen+1)
	h.mustStatus(h.get("/avatar/web/"+at+"?size=20"), 200) // the default
	for _, path := range []string{
		"/avatar/web/" + over, "/avatar/web/" + over + "?v=1",
		"/proxy.php?proxy=avatar&user_id=" + over + "&timestamp=1",
	} {
		r := h.get(path)
		h.mustStatus(r, 400)
		if want := fmt.Sprintf("user_id: longer than %d bytes\n", maxUserIDLen); string(r.body) != want {
			t.Errorf("body %q, want %q", r.body, want)
		}
	}
	r := h.do(http.MethodPost, "/purge/web/"+over, http.Header{"Authorization": {"Bearer purge-secret"}})
	h.mustStatus(r, 400)
	if n := h.srv.avatars.gens.(*cache.LocalGenerations).Len(); n != 0 {
		t.Fatalf("an over-long id was recorded: %d records", n)
	}
}

var countLine = regexp.MustCompile(`(?m)^(\S+?)(\{[^}]*\})? (\S+)$`)

// sumMetric adds every series of the named metric in the exposition.
func sumMetric(t *testing.T, text, name string) float64 {
	t.Helper()
	total := 0.0
	for _, m := range countLine.FindAllStringSubmatch(text, -1) {
		if m[1] == name {
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Fatal(err)
			}
			total += v
		}
	}
	return total
}

func resizeCount(t *testing.T, h *harness) int {
	return int(sumMetric(t, metricsText(h), "avatarproxy_resize_duration_seconds_count"))
}

func invalidations(t *testing.T, h *harness) int {
	return int(sumMetric(t, metricsText(h), "avatarproxy_invalidations_total"))
}

// A remembered failure costs the bytes of its text, which holds the user id
// a client chose, not only the fixed overhead of an entry.
func TestFailedOriginalCostsItsErrorText(t *testing.T) {
	id := strings.Repeat("u", 250)
	failed := &original{state: originalFailed, err: fmt.Errorf("upstream o: timeout: GET http://origin/a/%s", id)}
	if got := originalSize(failed); got < len(id) {
		t.Fatalf("a failed original with a %d-byte id in its error costs %d bytes", len(id), got)
	}
}
