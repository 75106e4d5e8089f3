package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// purgePromise is the product's bound: a purge on one replica is in force
// on every replica within a second.
const purgePromise = time.Second

// countingOrigin is an http upstream that counts the fetches of each user
// and serves a picture that changes when the test moves the user to a
// new version.
type countingOrigin struct {
	*httptest.Server
	mu       sync.Mutex
	fetches  map[string]int
	versions map[string]int
}

func newCountingOrigin(t *testing.T) *countingOrigin {
	o := &countingOrigin{fetches: map[string]int{}, versions: map[string]int{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/a/"), ".png")
		o.mu.Lock()
		o.fetches[user]++
		v := o.versions[user]
		o.mu.Unlock()
		w.Header().Set("Content-Type", "image/png")
		w.Write(testimages.SeededPNG(fmt.Sprintf("%s-%d", user, v), 96, 96))
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *countingOrigin) count(user string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fetches[user]
}

func (o *countingOrigin) change(user string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.versions[user]++
}

// replicaProc is one avatarproxy process of a deployment sharing Redis.
type replicaProc struct {
	base   string
	proc   *testproc.Process
	client *http.Client
}

func startReplica(t *testing.T, redisAddr, originURL string) *replicaProc {
	t.Helper()
	addr := testproc.FreeAddr(t)
	p := testproc.Proxy(t, t.TempDir(), addr, fmt.Sprintf(`
listen: %q
upstreams:
  - {name: cdn, kind: http, url_template: "%s/a/{user_id}.png"}
cache:
  redis_url: redis://%s
  redis_timeout: 250ms    # generous for a loaded test machine; slowness has its own test
security:
  purge_token: purge-secret
`, addr, originURL, redisAddr))
	return &replicaProc{base: "http://" + addr, proc: p, client: &http.Client{Timeout: testproc.MustNotHang}}
}

// avatar fetches a user's avatar at a size and returns its ETag and X-Cache.
func (r *replicaProc) avatar(t *testing.T, user string, size int) (etag, xcache string) {
	t.Helper()
	url := fmt.Sprintf("%s/avatar/cdn/%s?size=%d&format=png", r.base, user, size)
	resp, body := get(t, r.client, url)
	checkImage(t, url, resp, body, "image/png", size)
	if resp.Header.Get("X-Avatar-Fallback") != "" {
		t.Fatalf("%s: a fallback (%s), not the avatar", url, resp.Header.Get("X-Avatar-Fallback"))
	}
	return resp.Header.Get("ETag"), resp.Header.Get("X-Cache")
}

func (r *replicaProc) purge(t *testing.T, user string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.base+"/purge/cdn/"+user, nil)
	req.Header.Set("Authorization", "Bearer purge-secret")
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("purge %s: status %d", user, resp.StatusCode)
	}
}

func (r *replicaProc) metric(t *testing.T, name string) float64 {
	t.Helper()
	return metric(t, r.client, r.base, name)
}

// awaitNew polls r until it serves a user's avatar with another ETag than
// old, failing after within, and returns the new ETag and how long it took.
func (r *replicaProc) awaitNew(t *testing.T, user string, size int, old string, within time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		etag, _ := r.avatar(t, user, size)
		if etag != old {
			return etag, time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s still serves %s's old avatar %v after the purge", r.base, user, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *replicaProc) awaitConnected(t *testing.T, want float64) {
	t.Helper()
	deadline := time.Now().Add(testproc.MustNotHang)
	for r.metric(t, "avatarproxy_redis_connected") != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: avatarproxy_redis_connected never became %v", r.base, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReplicasShareOneFetchAndPurges(t *testing.T) {
	_, redisAddr := testproc.Redis(t)
	origin := newCountingOrigin(t)
	a, b := startReplica(t, redisAddr, origin.URL), startReplica(t, redisAddr, origin.URL)

	etagA, _ := a.avatar(t, "alice", 64)
	etagB, _ := b.avatar(t, "alice", 64)
	if etagA != etagB {
		t.Fatalf("replicas serve alice with ETags %s and %s", etagA, etagB)
	}
	b.avatar(t, "alice", 48) // a new size on the other replica: the shared original
	a.avatar(t, "alice", 40)
	if n := origin.count("alice"); n != 1 {
		t.Fatalf("alice fetched %d times from the upstream by two replicas, want 1", n)
	}
	if hits := b.metric(t, `avatarproxy_cache_hits_total{tier="redis"}`); hits < 2 {
		t.Fatalf("replica b counted %v redis hits, want its variant and original", hits)
	}

	// Each purge, taken by one replica, is in force on the other within the
	// promise; the new picture is fetched once for both.
	var delays []time.Duration
	for i := range 100 {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		old, _ := to.avatar(t, "alice", 64)
		origin.change("alice")
		before := origin.count("alice")
		from.purge(t, "alice")
		fresh, took := to.awaitNew(t, "alice", 64, old, purgePromise)
		delays = append(delays, took)
		if other, _ := from.avatar(t, "alice", 64); other != fresh {
			t.Fatalf("after purge %d the replicas serve %s and %s", i, other, fresh)
		}
		if n := origin.count("alice") - before; n != 1 {
			t.Fatalf("purge %d: the new picture was fetched %d times, want once", i, n)
		}
	}
	slices.Sort(delays)
	t.Logf("purge on one replica in force on the other, over %d purges: median %v, worst %v",
		len(delays), delays[len(delays)/2], delays[len(delays)-1])
}

func TestReplicasServeThroughRedisRestart(t *testing.T) {
	redis, redisAddr := testproc.Redis(t)
	origin := newCountingOrigin(t)
	a, b := startReplica(t, redisAddr, origin.URL), startReplica(t, redisAddr, origin.URL)
	a.awaitConnected(t, 1)
	b.awaitConnected(t, 1)
	etag, _ := a.avatar(t, "carol", 64)
	b.avatar(t, "carol", 64)
	b.avatar(t, "carol", 32) // b holds the original in memory too

	redis.Kill()
	a.awaitConnected(t, 0)
	b.awaitConnected(t, 0)
	fetched := origin.count("carol")
	// Avatars keep being served from memory, new sizes too, and new users
	// from their upstream.
	for _, r := range []*replicaProc{a, b} {
		if got, xcache := r.avatar(t, "carol", 64); got != etag || xcache != "HIT" {
			t.Fatalf("%s during the outage: ETag %s, X-Cache %s; want %s from memory", r.base, got, xcache, etag)
		}
		r.avatar(t, "carol", 100+len(r.base)%7)
		r.avatar(t, "dave", 64)
	}
	if n := origin.count("carol"); n != fetched {
		t.Fatalf("carol fetched %d more times during the outage", n-fetched)
	}
	// A purge during the outage is in force on the replica that took it.
	origin.change("carol")
	a.purge(t, "carol")
	if got, _ := a.avatar(t, "carol", 64); got == etag {
		t.Fatal("the replica that took a purge during the outage still serves the old avatar")
	}

	testproc.RedisOn(t, redisAddr) // empty, where the replicas expect it
	a.awaitConnected(t, 1)
	b.awaitConnected(t, 1)
	// The outage purge reaches the other replica, and fan-out works again.
	b.awaitNew(t, "carol", 64, etag, purgePromise)
	old, _ := a.avatar(t, "carol", 64)
	origin.change("carol")
	b.purge(t, "carol")
	a.awaitNew(t, "carol", 64, old, purgePromise)
	before := origin.count("erin")
	a.avatar(t, "erin", 64)
	b.avatar(t, "erin", 64)
	if n := origin.count("erin") - before; n != 1 {
		t.Fatalf("after reconnecting, erin fetched %d times by two replicas, want 1", n)
	}
}
