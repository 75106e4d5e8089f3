package cache

import (
	"sync"
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

// LocalGenerations keeps generations in process memory.
//
// Only users that were ever bumped have a record. Generations come from one
// counter, so a number is never handed out twice. A record older than keep
// is dropped, which returns the user to generation 0: that is safe as long
// as no cache entry lives longer than keep, because every entry made under
// generation 0 before the bump has then expired.
type LocalGenerations struct {
	keep time.Duration
	now  func() time.Time

	mu        sync.Mutex
	last      uint64
	gens      map[string]generation
	nextSweep int
}

type generation struct {
	n       uint64
	touched time.Time
}

// NewLocalGenerations returns generations whose records last keep, which
// must be at least the longest lifetime of any cache entry.
func NewLocalGenerations(keep time.Duration) *LocalGenerations {
	return &LocalGenerations{keep: keep, now: time.Now, gens: make(map[string]generation), nextSweep: 1024}
}

// Get returns the user's current generation.
func (g *LocalGenerations) Get(user string) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	gen, ok := g.gens[user]
	if !ok || g.now().Sub(gen.touched) > g.keep {
		return 0
	}
	return gen.n
}

// Bump moves the user to a new generation and returns it.
func (g *LocalGenerations) Bump(user string) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.last++
	g.gens[user] = generation{n: g.last, touched: now}
	if len(g.gens) >= g.nextSweep {
		g.sweep(now)
	}
	return g.last
}

// sweep drops expired records; it runs when the map has doubled since the
// last sweep, so its cost is amortised over the bumps that grew it.
func (g *LocalGenerations) sweep(now time.Time) {
	for user, gen := range g.gens {
		if now.Sub(gen.touched) > g.keep {
			delete(g.gens, user)
		}
	}
	g.nextSweep = max(1024, 2*len(g.gens))
}

// Len is the number of users with a record.
func (g *LocalGenerations) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.gens)
}
