package rediscache

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// promise is the product's bound: a purge on one replica is in force on
// every replica within a second.
const promise = time.Second

func TestGenerationsAreShared(t *testing.T) {
	srv := startRedis(t)
	checkSharing(t, openReplica(t, srv.url(), false), openReplica(t, srv.url(), false))
}

func checkSharing(t *testing.T, a, b *replica) {
	t.Helper()
	ctx := context.Background()
	for i := range 20 {
		user := fmt.Sprintf("up\x00user-%d", i)
		if ga, gb := a.gens.Get(user), b.gens.Get(user); ga != gb || ga == 0 {
			t.Fatalf("%q: replicas read generations %d and %d", user, ga, gb)
		}
		before := b.gens.Get(user)
		bumped := a.gens.Bump(user)
		if bumped <= before {
			t.Fatalf("%q: bump gave %d after %d", user, bumped, before)
		}
		eventually(t, promise, "replica b to see replica a's purge", func() bool { return b.gens.Get(user) == bumped })
		// Entries written under the new generation are shared as well.
		name := fmt.Sprintf("o:%d", bumped)
		a.store.Set(ctx, user, name, &Entry{Body: []byte(user)}, time.Minute)
		if e, ok := b.store.Get(ctx, user, name); !ok || string(e.Body) != user {
			t.Fatalf("%q: replica b did not read the entry replica a wrote", user)
		}
	}
}

func TestGenerationsConvergeWithoutTheirSubscription(t *testing.T) {
	srv := startRedis(t)
	raw := rawClient(t, srv.url(), false)
	ctx := context.Background()
	// Replica b connects as a user whose channel rights the test can take
	// away, so that its subscription stays down once killed.
	if err := raw.Do(ctx, "ACL", "SETUSER", "b", "on", ">b-secret", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	a := openReplica(t, srv.url(), false)
	b := openReplica(t, "redis://b:b-secret@"+srv.addr, false)
	user := "up\x00sub"
	b.gens.Get(user) // b holds a lease
	if err := raw.Do(ctx, "ACL", "SETUSER", "b", "resetchannels").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := raw.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Int(); err != nil {
		t.Fatalf("CLIENT KILL TYPE pubsub: %d, %v", n, err)
	}
	for i := range 5 {
		// The fan-out message is lost to b: it converges by its lease.
		bumped := a.gens.Bump(user)
		eventually(t, promise, fmt.Sprintf("purge %d to reach a replica without its subscription", i), func() bool {
			return b.gens.Get(user) == bumped
		})
	}
	if !b.client.Up() {
		t.Fatal("a lost subscription took the replica off Redis")
	}
}

func TestFanoutAcrossRedisRestart(t *testing.T) {
	srv := startRedis(t)
	a, b := openReplica(t, srv.url(), false), openReplica(t, srv.url(), false)
	ctx := context.Background()
	user, other := "up\x00carol", "up\x00dan"
	// Every generation handed out before Redis loses its data.
	used := map[uint64]bool{}
	for _, u := range []string{user, other} {
		used[a.gens.Get(u)] = true
		used[a.gens.Bump(u)] = true
		used[a.gens.Bump(u)] = true
	}
	before := a.gens.Get(user)
	// A user nobody purges, so that no late fan-out message ends b's lease.
	quiet := "up\x00erin"
	lastRead := b.gens.Get(quiet)
	a.store.Set(ctx, user, "o:x", &Entry{Body: []byte("x")}, time.Minute)

	srv.kill()
	a.gens.Get(other) // a notices on its next command, or its probe does
	eventually(t, testproc.MustNotHang, "both replicas to notice the outage", func() bool {
		return !a.client.Up() && !b.client.Up()
	})
	if g := gauge(a.metrics, "avatarproxy_redis_connected"); g != 0 {
		t.Fatalf("avatarproxy_redis_connected = %v during the outage", g)
	}
	// Memory-only service: lookups miss, writes are dropped, generations
	// answer from what the replica knows.
	if _, ok := a.store.Get(ctx, user, "o:x"); ok {
		t.Fatal("a hit while Redis is away")
	}
	a.store.Set(ctx, user, "o:y", &Entry{Body: []byte("y")}, time.Minute)
	if got := b.gens.Get(quiet); got != lastRead {
		t.Fatalf("b's generation during the outage %d, want its last read %d", got, lastRead)
	}
	// A purge during the outage is in force on its replica at once.
	outagePurge := a.gens.Bump(user)
	if outagePurge == before || a.gens.Get(user) != outagePurge {
		t.Fatalf("purge during the outage: bump %d, Get %d, before %d", outagePurge, a.gens.Get(user), before)
	}

	srv.restart() // empty: Redis lost everything
	waitUp(t, a)
	waitUp(t, b)
	if g := gauge(a.metrics, "avatarproxy_redis_connected"); g != 1 {
		t.Fatalf("avatarproxy_redis_connected = %v after reconnecting", g)
	}
	// a's outage purge reaches b once Redis is back; nothing returns to a
	// generation used before.
	var after uint64
	eventually(t, promise, "the outage purge to reach b", func() bool {
		after = b.gens.Get(user)
		return after != before && after == a.gens.Get(user)
	})
	// Nothing returns to a generation used before Redis lost its data,
	// where stale entries may still be cached.
	if used[after] || after <= before {
		t.Fatalf("generation after the restart %d was used before (last %d)", after, before)
	}
	if g := b.gens.Get(other); used[g] {
		t.Fatalf("an untouched user came back to generation %d, used before the restart", g)
	}
	// Fan-out works again, both ways.
	for _, from := range []*replica{a, b} {
		to := a
		if from == a {
			to = b
		}
		bumped := from.gens.Bump(user)
		eventually(t, promise, "fan-out after reconnect", func() bool { return to.gens.Get(user) == bumped })
	}
	a.store.Set(ctx, user, "o:z", &Entry{Body: []byte("z")}, time.Minute)
	if _, ok := b.store.Get(ctx, user, "o:z"); !ok {
		t.Fatal("entries are not shared after reconnecting")
	}
}

// TestFanoutDelay measures how long a purge on one replica takes to be in
// force on another, over many purges, and holds each to the promise.
func TestFanoutDelay(t *testing.T) {
	srv := startRedis(t)
	measureFanout(t, openReplica(t, srv.url(), false), openReplica(t, srv.url(), false), 200)
}

func measureFanout(t *testing.T, a, b *replica, purges int) {
	t.Helper()
	delays := make([]time.Duration, 0, purges)
	for i := range purges {
		user := fmt.Sprintf("up\x00fan-%d", i%10)
		b.gens.Get(user) // b holds a lease, as a busy replica would
		start := time.Now()
		bumped := a.gens.Bump(user)
		eventually(t, promise, "a purge to reach the other replica", func() bool { return b.gens.Get(user) == bumped })
		delays = append(delays, time.Since(start))
	}
	slices.Sort(delays)
	t.Logf("fan-out delay over %d purges: median %v, p99 %v, worst %v",
		len(delays), delays[len(delays)/2], delays[len(delays)*99/100], delays[len(delays)-1])
}

func TestClusterSharesEntriesAndPurges(t *testing.T) {
	url := startCluster(t)
	a, b := openReplica(t, url, true), openReplica(t, url, true)
	checkSharing(t, a, b)
	// The users above spread over every master, each user's keys in one slot.
	raw := rawClient(t, url, true).(*redis.ClusterClient)
	var populated atomic.Int64
	err := raw.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error {
		size, err := n.DBSize(ctx).Result()
		if size > 0 {
			populated.Add(1)
		}
		return err
	})
	if err != nil || populated.Load() != 3 {
		t.Fatalf("%d of 3 masters hold keys (%v)", populated.Load(), err)
	}
	measureFanout(t, a, b, 100)
}

// A Redis that stops answering in time is treated as gone: the replica
// turns to memory at once rather than waiting on it, keeps its purges, and
// returns to Redis by itself.
func TestSlowRedisTurnsToMemoryAndBack(t *testing.T) {
	srv := startRedis(t)
	r := openReplica(t, srv.url(), false, func(c *Config) { c.Timeout = 100 * time.Millisecond })
	ctx := context.Background()
	user := "up\x00slow"
	r.store.Set(ctx, user, "o:1", &Entry{Body: []byte("x")}, time.Minute)
	known := r.gens.Get(user)
	raw := rawClient(t, srv.url(), false)
	if err := raw.Do(ctx, "CLIENT", "PAUSE", "1500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.store.Get(ctx, user, "o:1"); ok {
		t.Fatal("a lookup answered from a Redis that cannot answer")
	}
	if r.client.Up() || gauge(r.metrics, "avatarproxy_redis_connected") != 0 {
		t.Fatal("a command past its timeout left the replica counting on Redis")
	}
	if got := r.gens.Get(user); got != known {
		t.Fatalf("generation while Redis is slow: %d, want the last read %d", got, known)
	}
	purged := r.gens.Bump(user)
	if purged == known || r.gens.Get(user) != purged {
		t.Fatal("a purge while Redis is slow is not in force on its replica")
	}
	eventually(t, testproc.MustNotHang, "the replica to return to Redis", r.client.Up)
	eventually(t, testproc.MustNotHang, "the purge to be written to Redis", func() bool {
		s, err := raw.Get(ctx, tagOf(user).generationKey()).Uint64()
		return err == nil && s > known
	})
}
