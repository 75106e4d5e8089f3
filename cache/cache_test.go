package cache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type blob struct{ b []byte }

func newBlobTier(t *testing.T, max int64, onEvict func()) *Tier[blob] {
	t.Helper()
	tier, err := NewTier(TierConfig[blob]{MaxBytes: max, Size: func(b *blob) int { return len(b.b) }, OnEvict: onEvict})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tier.Close)
	return tier
}

func TestTierCountsBytesAndEvicts(t *testing.T) {
	var evictions atomic.Int64
	tier := newBlobTier(t, 64<<10, func() { evictions.Add(1) })
	for i := range 200 {
		tier.Set(string(rune('a'+i%26))+string(rune(i)), &blob{make([]byte, 1000)}, time.Hour)
		tier.Wait()
	}
	if got := tier.Bytes(); got > 64<<10 || got <= 0 {
		t.Fatalf("Bytes() = %d, want within (0, %d]", got, 64<<10)
	}
	if evictions.Load() == 0 {
		t.Fatal("200 KB into a 64 KiB tier evicted nothing")
	}
}

func TestTierReplaceKeepsAccountingExact(t *testing.T) {
	tier := newBlobTier(t, 1<<20, nil)
	tier.Set("k", &blob{make([]byte, 1000)}, time.Hour)
	tier.Wait()
	tier.Set("k", &blob{make([]byte, 3000)}, time.Hour)
	tier.Wait()
	if got, want := tier.Bytes(), int64(3000+entryOverhead); got != want {
		t.Fatalf("after replacing, Bytes() = %d, want %d", got, want)
	}
	v, ok := tier.Get("k")
	if !ok || len(v.b) != 3000 {
		t.Fatalf("Get after replace = %v, %v", v, ok)
	}
}

func TestGroupCollapsesConcurrentCalls(t *testing.T) {
	g := NewGroup[int](time.Minute)
	var calls atomic.Int64
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]int, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, _, err := g.Do(context.Background(), "k", func(context.Context) (int, error) {
				calls.Add(1)
				<-release
				return 42, nil
			})
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		}()
	}
	// Let every caller join before the work finishes.
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("fn ran %d times, want 1", calls.Load())
	}
	for i, v := range results {
		if v != 42 {
			t.Fatalf("caller %d got %d", i, v)
		}
	}
}

func TestGroupCallerGivingUpDoesNotFailOthers(t *testing.T) {
	g := NewGroup[string](time.Minute)
	started := make(chan struct{})
	var startOnce sync.Once
	release := make(chan struct{})
	var workErrs atomic.Int64
	fn := func(ctx context.Context) (string, error) {
		startOnce.Do(func() { close(started) })
		<-release
		if ctx.Err() != nil {
			workErrs.Add(1)
		}
		return "done", nil
	}
	impatient, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, _, err := g.Do(impatient, "k", fn)
		first <- err
	}()
	<-started
	second := make(chan string, 1)
	go func() {
		v, _, err := g.Do(context.Background(), "k", fn)
		if err != nil {
			t.Error(err)
		}
		second <- v
	}()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v, want context.Canceled", err)
	}
	time.Sleep(20 * time.Millisecond) // let the second caller join the flight
	close(release)
	if v := <-second; v != "done" {
		t.Fatalf("patient caller got %q", v)
	}
	if workErrs.Load() != 0 {
		t.Fatal("the shared work saw its context end when its first caller gave up")
	}
}

func TestGenerationsBumpAndExpire(t *testing.T) {
	now := time.Unix(1000, 0)
	g := NewLocalGenerations(time.Hour, 1<<20)
	g.now = func() time.Time { return now }
	if g.Get("u") != 0 {
		t.Fatal("unseen user not at generation 0")
	}
	a := g.Bump("u")
	b := g.Bump("v")
	if a == 0 || b == a || g.Get("u") != a || g.Get("v") != b {
		t.Fatalf("bumps: u=%d v=%d, Get u=%d v=%d", a, b, g.Get("u"), g.Get("v"))
	}
	now = now.Add(2 * time.Hour)
	c := g.Bump("w") // drops the records older than keep
	if g.Len() != 1 || g.Get("u") != 0 || g.Get("w") != c {
		t.Fatalf("after keep: %d records, u at %d, w at %d", g.Len(), g.Get("u"), g.Get("w"))
	}
	if d := g.Bump("u"); d == a || d == b || d == c || d == 0 {
		t.Fatalf("a generation was handed out twice: %d after %d, %d and %d", d, a, b, c)
	}
}

// Client-chosen user ids may be long and many: the records stay within
// their byte bound whatever is bumped.
func TestGenerationsBoundedInBytes(t *testing.T) {
	const maxBytes = 64 << 10
	g := NewLocalGenerations(time.Hour, maxBytes)
	long := strings.Repeat("x", 4000)
	for i := range 5000 {
		g.Bump(long + strconv.Itoa(i))
		if b := g.Bytes(); b > maxBytes {
			t.Fatalf("after %d bumps the records hold %d bytes, above %d", i+1, b, maxBytes)
		}
	}
	if n := g.Len(); n > maxBytes/4000 {
		t.Fatalf("%d records of 4 KB ids kept within %d bytes", n, maxBytes)
	}
}

// A record dropped under byte pressure while its entries may still live
// must not return its user to a generation those entries were made under.
func TestGenerationsDroppedUnderPressureNeverRevive(t *testing.T) {
	g := NewLocalGenerations(time.Hour, 10*recordCost("user-00"))
	before := g.Get("u")
	purged := g.Bump("u")
	if purged == before {
		t.Fatal("a bump did not move the user")
	}
	for i := range 100 { // push u's record out
		g.Bump(fmt.Sprintf("user-%02d", i))
	}
	if _, kept := g.records.Load("u"); kept {
		t.Fatal("the record was not dropped under pressure")
	}
	if got := g.Get("u"); got == before {
		t.Fatalf("u is back at generation %d, where its purged entries live", got)
	}
	if got := g.Get("u"); got < purged {
		t.Fatalf("u went back from %d to %d", purged, got)
	}
	// The users still recorded keep their generation.
	last := g.Bump("user-last")
	if g.Get("user-last") != last {
		t.Fatalf("a recorded user is at %d, not its %d", g.Get("user-last"), last)
	}
}

// Hits read generations from many goroutines while purges bump them; run
// with -race.
func TestGenerationsConcurrentGetAndBump(t *testing.T) {
	g := NewLocalGenerations(time.Hour, 4096)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				user := fmt.Sprintf("u%d-%d", w, i%50)
				if i%10 == 0 {
					b := g.Bump(user)
					if got := g.Get(user); got < b {
						t.Errorf("Get after Bump: %d < %d", got, b)
						return
					}
				} else {
					g.Get(user)
				}
			}
		}()
	}
	wg.Wait()
}

// Work that outlives a server (a background revalidation, a collapsed
// render) may still write to a tier while it closes: that must neither
// race nor panic, and writes after Close do nothing.
func TestTierWritesRacingClose(t *testing.T) {
	for range 20 {
		tier, err := NewTier(TierConfig[[]byte]{MaxBytes: 1 << 20, Size: func(b *[]byte) int { return len(*b) }})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range 50 {
					b := []byte("avatar")
					tier.Set(fmt.Sprintf("k%d-%d", i, j), &b, time.Minute)
					tier.Wait()
				}
			}()
		}
		tier.Close()
		wg.Wait()
		b := []byte("late")
		tier.Set("late", &b, time.Minute)
		tier.Wait()
		if _, ok := tier.Get("late"); ok {
			t.Fatal("a Set after Close was stored")
		}
	}
}
