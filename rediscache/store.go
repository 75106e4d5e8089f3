package rediscache

import (
	"context"
	"time"

	"github.com/avatarproxy/avatarproxy/metrics"
)

// Store keeps entries in Redis under a user's hash tag, each with a TTL.
// It is the shared tier behind the in-memory ones: a lookup that misses in
// memory asks here before the upstream. Lookups while Redis is away are
// misses and writes are dropped; neither waits.
type Store struct{ c *Client }

// NewStore returns the entry store of c.
func NewStore(c *Client) *Store { return &Store{c: c} }

// Get returns the entry stored for the user under name.
func (s *Store) Get(ctx context.Context, user, name string) (*Entry, bool) {
	e, ok := s.get(ctx, user, name)
	if ok {
		s.c.metrics.CacheHits.WithLabelValues(metrics.TierRedis).Inc()
	} else {
		s.c.metrics.CacheMisses.WithLabelValues(metrics.TierRedis).Inc()
	}
	return e, ok
}

func (s *Store) get(ctx context.Context, user, name string) (*Entry, bool) {
	if !s.c.Up() {
		return nil, false
	}
	ctx, cancel := s.c.ctx(ctx)
	defer cancel()
	b, err := s.c.rdb.Get(ctx, tagOf(user).entryKey(name)).Bytes()
	if err != nil {
		s.c.failed(err) // a miss, or Redis gone
		return nil, false
	}
	e := new(Entry)
	if e.UnmarshalBinary(b) != nil {
		// Written by an incompatible version: as good as absent.
		return nil, false
	}
	return e, true
}

// Set stores e for the user under name for ttl, unless its encoding is
// larger than the configured cap: such values stay in memory only.
func (s *Store) Set(ctx context.Context, user, name string, e *Entry, ttl time.Duration) {
	// The body alone over the cap spares encoding it.
	if !s.c.Up() || ttl <= 0 || len(e.Body) > s.c.cfg.MaxValueBytes {
		return
	}
	b, _ := e.MarshalBinary()
	if len(b) > s.c.cfg.MaxValueBytes {
		return
	}
	ctx, cancel := s.c.ctx(ctx)
	defer cancel()
	s.c.failed(s.c.rdb.Set(ctx, tagOf(user).entryKey(name), b, ttl).Err())
}
