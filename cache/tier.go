// Package cache holds avatarproxy's in-process caching primitives: tiers of
// bytes-costed entries on ristretto, request collapsing that survives the
// caller giving up, and per-user generations that invalidate every cached
// size and format of a user in O(1).
package cache

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// entryOverhead approximates what an entry costs beyond its payload: the
// key, the value struct and its small fields. ristretto adds its own
// per-item bookkeeping on top (IgnoreInternalCost stays false), so that
// MaxBytes bounds real memory rather than image bytes alone.
const entryOverhead = 256

// Tier is one in-memory cache of *E values whose cost is bytes.
type Tier[E any] struct {
	c     *ristretto.Cache[string, *E]
	size  func(*E) int
	bytes atomic.Int64

	// closing lets Close wait out the Sets and Waits under way; hits
	// (Get) never take it.
	closing sync.RWMutex
	closed  bool
}

// TierConfig configures a Tier. OnEvict, when set, is called once for every
// entry evicted to make room (not for entries that expire or are replaced).
type TierConfig[E any] struct {
	MaxBytes int64
	// Size is the payload size of a value in bytes.
	Size    func(*E) int
	OnEvict func()
}

// NewTier creates a tier that holds at most about cfg.MaxBytes.
func NewTier[E any](cfg TierConfig[E]) (*Tier[E], error) {
	t := &Tier[E]{size: cfg.Size}
	// ristretto wants ~10 counters per item it may hold; avatar variants
	// average a few kilobytes.
	counters := cfg.MaxBytes / 1024 * 10
	if counters < 1000 {
		counters = 1000
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *E]{
		NumCounters: counters,
		MaxCost:     cfg.MaxBytes,
		BufferItems: 64,
		OnEvict: func(it *ristretto.Item[*E]) {
			// Expired entries pass through here too; only count the ones
			// pushed out to make room.
			if cfg.OnEvict != nil && (it.Expiration.IsZero() || time.Now().Before(it.Expiration)) {
				cfg.OnEvict()
			}
		},
		// OnExit sees every value that leaves: evicted, expired, rejected,
		// replaced or deleted (and the zero value for a key already gone).
		OnExit: func(v *E) {
			if v != nil {
				t.bytes.Add(-t.cost(v))
			}
		},
	})
	if err != nil {
		return nil, err
	}
	t.c = c
	return t, nil
}

func (t *Tier[E]) cost(v *E) int64 { return int64(t.size(v)) + entryOverhead }

// Get returns the value stored under key.
func (t *Tier[E]) Get(key string) (*E, bool) { return t.c.Get(key) }

// Set stores v under key for at most ttl. ristretto admits entries
// asynchronously and may refuse some; a cache may always forget.
func (t *Tier[E]) Set(key string, v *E, ttl time.Duration) {
	t.closing.RLock()
	defer t.closing.RUnlock()
	if t.closed {
		return
	}
	cost := t.cost(v)
	if t.c.SetWithTTL(key, v, cost, ttl) {
		t.bytes.Add(cost)
	}
}

// Wait blocks until every Set so far has been applied.
func (t *Tier[E]) Wait() {
	t.closing.RLock()
	defer t.closing.RUnlock()
	if !t.closed {
		t.c.Wait()
	}
}

// Bytes is the approximate cost of what the tier holds now.
func (t *Tier[E]) Bytes() int64 { return t.bytes.Load() }

// Close stops the tier's background work. Sets and Waits still under way
// finish first, and later ones do nothing: ristretto's own would send on a
// channel its Close closes, and background work (revalidations, collapsed
// renders) may outlive the server that started it.
func (t *Tier[E]) Close() {
	t.closing.Lock()
	t.closed = true
	t.closing.Unlock()
	t.c.Close()
}
