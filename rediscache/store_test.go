package rediscache

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

func TestStoreSharesEntriesWithTTL(t *testing.T) {
	srv := startRedis(t)
	a, b := openReplica(t, srv.url(), false), openReplica(t, srv.url(), false)
	ctx := context.Background()
	user := "local\x00alice"

	if _, ok := b.store.Get(ctx, user, "o:1"); ok {
		t.Fatal("hit before anything was stored")
	}
	want := sampleEntry()
	a.store.Set(ctx, user, "o:1", want, 90*time.Second)
	got, ok := b.store.Get(ctx, user, "o:1")
	if !ok || !bytes.Equal(got.Body, want.Body) || got.ETag != want.ETag || !got.Expires.Equal(want.Expires) {
		t.Fatalf("replica b read %+v, %v; want what replica a stored", got, ok)
	}
	if _, ok := b.store.Get(ctx, user, "o:2"); ok {
		t.Fatal("another generation's entry hit")
	}
	if _, ok := b.store.Get(ctx, "local\x00bob", "o:1"); ok {
		t.Fatal("another user's entry hit")
	}
	if hits, misses := redisHits(b.metrics), redisMisses(b.metrics); hits != 1 || misses != 3 {
		t.Fatalf("redis tier counted %v hits and %v misses, want 1 and 3", hits, misses)
	}

	raw := rawClient(t, srv.url(), false)
	key := tagOf(user).entryKey("o:1")
	ttl, err := raw.PTTL(ctx, key).Result()
	if err != nil || ttl <= 80*time.Second || ttl > 90*time.Second {
		t.Fatalf("TTL of %q = %v, %v; want just under 90s", key, ttl, err)
	}
	// Expiry is Redis's: an entry stored for a millisecond is gone soon after.
	a.store.Set(ctx, user, "o:short", want, time.Millisecond)
	eventually(t, 10*time.Second, "a 1 ms entry to expire", func() bool {
		_, ok := b.store.Get(ctx, user, "o:short")
		return !ok
	})
}

func TestStoreKeysAreNamespacedAndBounded(t *testing.T) {
	longUser := "http\x00" + strings.Repeat("x", 10000)
	key := tagOf(longUser).entryKey("v:" + strings.Repeat("y", 1000))
	if !strings.HasPrefix(key, "avatarproxy:{") || len(key) > 100 {
		t.Fatalf("key %q (%d bytes): want the avatarproxy prefix and a bounded length", key[:min(len(key), 80)], len(key))
	}
	tag := string(tagOf(longUser))
	for _, k := range []string{tagOf(longUser).generationKey(), key} {
		if !strings.Contains(k, "{"+tag+"}") {
			t.Fatalf("key %q lacks the user's hash tag", k)
		}
	}
	if tagOf("a\x00b") == tagOf("a\x00c") {
		t.Fatal("two users share a tag")
	}
}

func TestStoreLeavesLargeValuesInMemory(t *testing.T) {
	srv := startRedis(t)
	r := openReplica(t, srv.url(), false, func(c *Config) { c.MaxValueBytes = 4096 })
	ctx := context.Background()
	small := &Entry{Body: bytes.Repeat([]byte{1}, 3000), ContentType: "image/webp"}
	large := &Entry{Body: bytes.Repeat([]byte{2}, 5000), ContentType: "image/webp"}
	r.store.Set(ctx, "u", "small", small, time.Minute)
	r.store.Set(ctx, "u", "large", large, time.Minute)
	if _, ok := r.store.Get(ctx, "u", "small"); !ok {
		t.Fatal("a value under the cap was not stored")
	}
	if _, ok := r.store.Get(ctx, "u", "large"); ok {
		t.Fatal("a value over the cap was stored")
	}
	n, err := rawClient(t, srv.url(), false).Exists(ctx, tagOf("u").entryKey("large")).Result()
	if err != nil || n != 0 {
		t.Fatalf("EXISTS large = %d, %v", n, err)
	}
}

func TestStoreDefaultCapIsOneMiB(t *testing.T) {
	srv := startRedis(t)
	r := openReplica(t, srv.url(), false)
	ctx := context.Background()
	r.store.Set(ctx, "u", "under", &Entry{Body: make([]byte, 1<<20-64)}, time.Minute)
	r.store.Set(ctx, "u", "over", &Entry{Body: make([]byte, 1<<20)}, time.Minute)
	if _, ok := r.store.Get(ctx, "u", "under"); !ok {
		t.Fatal("a value just under 1 MiB was not stored")
	}
	if _, ok := r.store.Get(ctx, "u", "over"); ok {
		t.Fatal("a value over 1 MiB was stored")
	}
}

// A Redis that refuses writes (out of memory under noeviction) is still
// there: entries it holds are served and the replica stays connected.
func TestStoreRefusedWritesKeepTheConnection(t *testing.T) {
	_, addr := testproc.Redis(t, "--maxmemory", "3mb", "--maxmemory-policy", "noeviction")
	r := openReplica(t, "redis://"+addr, false)
	ctx := context.Background()
	r.store.Set(ctx, "u", "first", &Entry{Body: []byte("kept")}, time.Minute)
	for i := range 8 {
		r.store.Set(ctx, "u", fmt.Sprintf("big-%d", i), &Entry{Body: make([]byte, 900<<10)}, time.Minute)
	}
	n, err := rawClient(t, "redis://"+addr, false).DBSize(ctx).Result()
	if err != nil || n >= 9 {
		t.Fatalf("DBSIZE %d, %v: Redis refused no write", n, err)
	}
	if !r.client.Up() {
		t.Fatal("an error reply marked Redis as away")
	}
	if e, ok := r.store.Get(ctx, "u", "first"); !ok || string(e.Body) != "kept" {
		t.Fatal("an entry Redis holds is not served after refused writes")
	}
}

// An entry whose body alone is over the cap is turned away before it is
// encoded: it costs no copy of the body.
func TestStoreTurnsAwayLargeBodiesWithoutEncoding(t *testing.T) {
	srv := startRedis(t)
	r := openReplica(t, srv.url(), false, func(c *Config) { c.MaxValueBytes = 4096 })
	ctx := context.Background()
	large := &Entry{Body: make([]byte, 5000)}
	if allocs := testing.AllocsPerRun(20, func() { r.store.Set(ctx, "u", "large", large, time.Minute) }); allocs != 0 {
		t.Fatalf("turning away a large body allocates %v times", allocs)
	}
}
