package cache

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"
)

// Group collapses concurrent work for one key into a single call, like
// groupcache's singleflight, with one difference that matters for a proxy:
// the work runs on a context of its own, so one client hanging up does not
// fail the others waiting on the same key.
type Group[V any] struct {
	sf      singleflight.Group
	timeout time.Duration
}

// NewGroup returns a Group whose calls may run for at most timeout.
func NewGroup[V any](timeout time.Duration) *Group[V] {
	return &Group[V]{timeout: timeout}
}

// Do runs fn once for all callers of key that arrive while it runs and
// returns its result to each. A caller whose ctx ends stops waiting and gets
// ctx.Err(); fn goes on for the others (and to fill the cache). shared
// reports whether the result went to more than one caller.
func (g *Group[V]) Do(ctx context.Context, key string, fn func(context.Context) (V, error)) (v V, shared bool, err error) {
	ch := g.sf.DoChan(key, func() (any, error) {
		// Keep the values (trace ids, loggers) but not the cancellation.
		workCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
		defer cancel()
		return fn(workCtx)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return v, res.Shared, res.Err
		}
		return res.Val.(V), res.Shared, nil
	case <-ctx.Done():
		return v, false, ctx.Err()
	}
}
