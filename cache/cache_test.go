package cache

import (
	"context"
	"errors"
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
	g := NewLocalGenerations(time.Hour)
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
	if g.Get("u") != 0 {
		t.Fatal("record older than keep still in force")
	}
	if c := g.Bump("u"); c == a || c == b || c == 0 {
		t.Fatalf("a generation was handed out twice: %d after %d and %d", c, a, b)
	}
}

func TestGenerationsSweepBoundsMemory(t *testing.T) {
	now := time.Unix(1000, 0)
	g := NewLocalGenerations(time.Minute)
	g.now = func() time.Time { return now }
	for i := range 5000 {
		g.Bump(string(rune(i + 1)))
		now = now.Add(time.Second)
	}
	// At one bump a second only the last minute's users need a record;
	// amortised sweeps keep at most about twice that plus the floor.
	if n := g.Len(); n > 2*1024 {
		t.Fatalf("%d records kept for users bumped over an hour ago", n)
	}
}
