package upstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// clockedCache is a tokenCache on a clock the test moves, whose exchanges
// issue t1, t2, ... living lifetime (zero: no expiry), or fail while
// failing is set.
type clockedCache struct {
	*tokenCache
	mu      sync.Mutex
	clock   time.Time
	issued  int
	failing bool
}

func newClockedCache(lifetime time.Duration) *clockedCache {
	c := &clockedCache{clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.tokenCache = newTokenCache("Bearer ", time.Minute, func(context.Context) (issuedToken, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.failing {
			return issuedToken{}, errors.Join(errNoToken, errors.New("the token endpoint is down"))
		}
		c.issued++
		t := issuedToken{value: fmt.Sprint("t", c.issued)}
		if lifetime > 0 {
			t.expires = c.clock.Add(lifetime)
		}
		return t, nil
	})
	c.now = func() time.Time {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.clock
	}
	return c
}

func (c *clockedCache) set(at time.Time, failing bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock, c.failing = at, failing
}

func (c *clockedCache) get(t *testing.T) string {
	t.Helper()
	v, err := c.authorization(context.Background())
	if err != nil {
		t.Fatalf("authorization: %v", err)
	}
	return v
}

// eventually asks for an authorization until it is want: a renewal in the
// background lands when its goroutine has run.
func (c *clockedCache) eventually(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		if v := c.get(t); v == want {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("authorization still %q, want %q", v, want)
		}
	}
}

// A token is renewed a fifth of its lifetime early, at most a minute
// early, in the background while it is still good; one without an expiry
// only once refused.
func TestTokenCacheRenewsBeforeExpiry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		renewAt  time.Duration // after issue
	}{
		{"Box's hour", time.Hour, 59 * time.Minute},
		{"a short-lived token", 10 * time.Second, 8 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClockedCache(tc.lifetime)
			start := c.now()
			if v := c.get(t); v != "Bearer t1" {
				t.Fatalf("first authorization %q, want Bearer t1", v)
			}
			c.set(start.Add(tc.renewAt-time.Millisecond), false)
			if v := c.get(t); v != "Bearer t1" || c.issued != 1 {
				t.Errorf("%q after %d exchanges just before renewal is due, want t1 and none more", v, c.issued)
			}
			c.set(start.Add(tc.renewAt), false)
			if v := c.get(t); v != "Bearer t1" {
				t.Errorf("%q when renewal is due, want t1 while it renews", v)
			}
			c.eventually(t, "Bearer t2")
		})
	}
	t.Run("no expiry", func(t *testing.T) {
		c := newClockedCache(0)
		start := c.now()
		c.get(t)
		c.set(start.Add(100*24*time.Hour), false)
		if v := c.get(t); v != "Bearer t1" {
			t.Errorf("%q a hundred days on, want t1 until it is refused", v)
		}
		c.refused("Bearer t1")
		if v := c.get(t); v != "Bearer t2" {
			t.Errorf("%q after the refusal, want t2", v)
		}
		c.refused("Bearer t1") // stale: t2 replaced it
		if v := c.get(t); v != "Bearer t2" || c.issued != 2 {
			t.Errorf("%q after %d exchanges; a stale refusal must not renew", v, c.issued)
		}
	})
}

// A token endpoint that fails while the token is due for renewal costs no
// request anything until the token expires; then its error surfaces.
func TestTokenCacheOutlivesAFailedRenewal(t *testing.T) {
	c := newClockedCache(10 * time.Second)
	start := c.now()
	c.get(t)
	c.set(start.Add(9*time.Second), true)
	for range 3 {
		if v := c.get(t); v != "Bearer t1" {
			t.Fatalf("%q with renewal failing, want t1 until it expires", v)
		}
	}
	c.set(start.Add(10*time.Second), true)
	if _, err := c.authorization(context.Background()); !errors.Is(err, errNoToken) {
		t.Fatalf("expired token, endpoint down: %v, want the endpoint's error", err)
	}
	c.set(start.Add(11*time.Second), false)
	if v := c.get(t); v != "Bearer t2" {
		t.Errorf("%q once the endpoint is back, want t2", v)
	}
}
