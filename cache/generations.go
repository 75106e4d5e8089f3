package cache

import (
	"sync"
	"sync/atomic"
	"time"
)

// Generations numbers the versions of each user's avatar. Every cache key of
// a user embeds the user's current generation, so bumping it makes every
// cached size and format of that user unreachable at once; the orphaned
// entries age out of their tier on their own.
type Generations interface {
	// Get returns the user's current generation.
	Get(user string) uint64
	// Bump moves the user to a new generation and returns it.
	Bump(user string) uint64
}

// recordOverhead approximates what a record costs beyond its user's bytes:
// the map entry, the record and its slot in the drop order.
const recordOverhead = 128

// LocalGenerations keeps generations in process memory, bounded in bytes.
//
// The invariant it keeps: once Bump(user) has returned g, Get(user) never
// again returns a generation current for that user before the bump, so no
// entry made before a purge comes back to life. Generations come from one
// counter and Get(user) is the larger of the user's record and the epoch,
// the generation of every user without a record:
//
//   - A record dropped to stay within the byte bound while it is younger
//     than keep first raises the epoch to the record's generation. Records
//     are dropped oldest bump first, so every record left is above the new
//     epoch and keeps its generation, the dropped user keeps its own, and
//     every other unrecorded user moves to a generation it never had: their
//     cached entries are given up, none is revived.
//   - A record older than keep is dropped without moving the epoch: every
//     entry made before its bump lived at most keep and has expired.
//
// Get takes no lock: records sit in a sync.Map and the epoch is atomic,
// and a drop raises the epoch before it removes the record.
type LocalGenerations struct {
	keep     time.Duration
	maxBytes int64
	now      func() time.Time

	records sync.Map // user → *record
	epoch   atomic.Uint64

	mu    sync.Mutex // serialises Bump and drops
	last  uint64     // the last generation handed out
	order []bumped   // bumps in the order they happened, oldest first
	bytes int64      // what order accounts for
}

type record struct{ gen uint64 }

type bumped struct {
	user string
	gen  uint64
	at   time.Time
}

// NewLocalGenerations returns generations whose records hold at most about
// maxBytes and are kept at least keep, which must be at least the longest
// lifetime of any cache entry, unless the byte bound drops them first.
func NewLocalGenerations(keep time.Duration, maxBytes int64) *LocalGenerations {
	return &LocalGenerations{keep: keep, maxBytes: maxBytes, now: time.Now}
}

// Get returns the user's current generation.
func (g *LocalGenerations) Get(user string) uint64 {
	if r, ok := g.records.Load(user); ok {
		return max(r.(*record).gen, g.epoch.Load())
	}
	return g.epoch.Load()
}

// Bump moves the user to a new generation and returns it.
func (g *LocalGenerations) Bump(user string) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.last++
	gen := g.last
	g.records.Store(user, &record{gen: gen})
	g.order = append(g.order, bumped{user: user, gen: gen, at: now})
	g.bytes += recordCost(user)
	for len(g.order) > 0 && (g.bytes > g.maxBytes || now.Sub(g.order[0].at) > g.keep) {
		g.dropOldest(now)
	}
	return gen
}

func recordCost(user string) int64 { return int64(len(user)) + recordOverhead }

// dropOldest drops the oldest bump, keeping the invariant on the type.
func (g *LocalGenerations) dropOldest(now time.Time) {
	b := g.order[0]
	g.order[0] = bumped{}
	g.order = g.order[1:]
	if len(g.order) == 0 {
		g.order = nil // let the backing array go
	}
	g.bytes -= recordCost(b.user)
	r, ok := g.records.Load(b.user)
	if !ok || r.(*record).gen != b.gen {
		return // the user was bumped again since: a later bump holds the record
	}
	if now.Sub(b.at) <= g.keep && b.gen > g.epoch.Load() {
		g.epoch.Store(b.gen)
	}
	g.records.Delete(b.user)
}

// Len is the number of users with a record.
func (g *LocalGenerations) Len() int {
	n := 0
	g.records.Range(func(any, any) bool { n++; return true })
	return n
}

// Bytes is what the records are accounted to hold.
func (g *LocalGenerations) Bytes() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bytes
}
