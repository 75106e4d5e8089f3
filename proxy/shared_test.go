package proxy

import (
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// replicaPair is two servers sharing one Redis and one origin, as two
// replicas of a deployment would.
func replicaPair(t *testing.T) (a, b *harness) {
	t.Helper()
	_, addr := testproc.Redis(t)
	withRedis := func(c *config.Config) {
		c.Cache.RedisURL = "redis://" + addr
		// Timeouts are not the subject here: a loaded machine must not
		// send a replica to memory-only service mid-test.
		c.Cache.RedisTimeout = config.Duration(time.Second)
	}
	a = newHarness(t, withRedis)
	b = newHarness(t, func(c *config.Config) {
		withRedis(c)
		c.Upstreams[1].URLTemplate = a.origin.URL + "/a/{user_id}"
	})
	return a, b
}

// getFromBoth gives user an avatar at a's origin, then gets path from a
// and from b, each a 200.
func getFromBoth(a, b *harness, user, path string) (fromA, fromB *response) {
	a.t.Helper()
	a.origin.set(user, testimages.PNG(testimages.Solid(120, 120, color.NRGBA{R: 200, A: 255})))
	fromA = a.get(path)
	a.mustStatus(fromA, 200)
	fromB = b.get(path)
	b.mustStatus(fromB, 200)
	return fromA, fromB
}

func TestSharedTierServesEveryReplicaFromOneFetch(t *testing.T) {
	a, b := replicaPair(t)
	ra, rb := getFromBoth(a, b, "u1", "/avatar/web/u1?size=40&format=png")
	if ra.Header.Get("ETag") != rb.Header.Get("ETag") {
		t.Fatalf("replicas serve ETags %s and %s", ra.Header.Get("ETag"), rb.Header.Get("ETag"))
	}
	b.mustStatus(b.get("/avatar/web/u1?size=64&format=webp"), 200) // a new size from the shared original
	if n := a.origin.gets.Load(); n != 1 {
		t.Fatalf("the origin was asked %d times by two replicas, want once", n)
	}
	// A user without an avatar is remembered for every replica too.
	a.mustStatus(a.get("/avatar/web/nobody?size=40&d=404"), 404)
	b.mustStatus(b.get("/avatar/web/nobody?size=40&d=404"), 404)
	if n := a.origin.gets.Load(); n != 2 {
		t.Fatalf("the origin was asked %d times, want once more for the missing user", n)
	}
	if !strings.Contains(metricsText(b), `avatarproxy_redis_connected 1`) {
		t.Fatal("avatarproxy_redis_connected is not 1")
	}
}

// A version token confirmed on one replica is confirmed on all: the
// original carries its tokens into Redis, so the other replica serves the
// token as immutable without asking the upstream.
func TestSharedVersionTokensTravelWithTheOriginal(t *testing.T) {
	a, b := replicaPair(t)
	first, onB := getFromBoth(a, b, "u2", "/avatar/web/u2?size=40&format=png&v=1")
	if n := a.origin.gets.Load(); n != 1 {
		t.Fatalf("v=1 on two replicas asked the origin %d times, want once", n)
	}
	if cc := onB.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || onB.Header.Get("ETag") != first.Header.Get("ETag") {
		t.Fatalf("v=1 on the second replica: %s, ETag %s; want the confirmed picture, immutable", cc, onB.Header.Get("ETag"))
	}

	// A new picture and a new token, past the version interval.
	a.origin.set("u2", testimages.PNG(testimages.Solid(120, 120, color.NRGBA{B: 200, A: 255})))
	a.clock.Advance(time.Minute)
	b.clock.Advance(time.Minute)
	second := a.get("/avatar/web/u2?size=40&format=png&v=2")
	a.mustStatus(second, 200)
	if second.Header.Get("ETag") == first.Header.Get("ETag") {
		t.Fatal("v=2 served the old picture on the replica that checked it")
	}
	onB = b.get("/avatar/web/u2?size=40&format=png&v=2")
	b.mustStatus(onB, 200)
	if etag := onB.Header.Get("ETag"); etag != second.Header.Get("ETag") || !strings.Contains(onB.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("v=2 on the second replica: ETag %s (%s); want the new picture's %s, immutable",
			etag, onB.Header.Get("Cache-Control"), second.Header.Get("ETag"))
	}
	if n := a.origin.gets.Load(); n != 2 {
		t.Fatalf("two versions on two replicas asked the origin %d times, want twice", n)
	}
}
