package resize

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// blockingPool returns a pool of cfg whose resizes report entering the
// queue on queued, report starting on started, and then hold their worker
// until release is closed.
func blockingPool(t *testing.T, cfg PoolConfig) (r *Resizer, queued, started chan struct{}, release chan struct{}) {
	t.Helper()
	r = New(cfg)
	queued, started, release = make(chan struct{}, 8), make(chan struct{}, 8), make(chan struct{})
	r.hooks.queued = func() { queued <- struct{}{} }
	r.hooks.started = func() {
		started <- struct{}{}
		<-release
	}
	return r, queued, started, release
}

// goResize starts resizing src and sends the outcome on errs.
func goResize(r *Resizer, src []byte, opt Options, errs chan<- error) {
	go func() {
		_, _, err := r.Resize(context.Background(), src, opt)
		errs <- err
	}()
}

func TestResizeBusyWhenQueueFull(t *testing.T) {
	r, queued, started, release := blockingPool(t, PoolConfig{Workers: 1, Queue: 1})
	src := testimages.PNG(testimages.Solid(16, 16, red))
	opt := Options{Edge: 8, Format: PNG}

	errs := make(chan error, 2)
	goResize(r, src, opt, errs)
	<-queued
	<-started // the only worker is taken
	goResize(r, src, opt, errs)
	<-queued // the only queue place is taken

	if running, waiting := r.Stats(); running != 1 || waiting != 1 {
		t.Errorf("Stats() = %d running, %d queued; want 1, 1", running, waiting)
	}

	begin := time.Now()
	if _, _, err := r.Resize(context.Background(), src, opt); !errors.Is(err, ErrBusy) {
		t.Errorf("third resize: %v, want ErrBusy", err)
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("ErrBusy took %v, want at once", d)
	}

	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("blocked resize: %v", err)
		}
	}
	if running, waiting := r.Stats(); running != 0 || waiting != 0 {
		t.Errorf("Stats() after = %d running, %d queued; want 0, 0", running, waiting)
	}
}

func TestResizeCancelledWhileQueued(t *testing.T) {
	r, queued, started, release := blockingPool(t, PoolConfig{Workers: 1, Queue: 1})
	defer close(release)
	src := testimages.PNG(testimages.Solid(16, 16, red))
	opt := Options{Edge: 8, Format: PNG}

	go r.Resize(context.Background(), src, opt)
	<-queued
	<-started

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() {
		_, _, err := r.Resize(ctx, src, opt)
		errs <- err
	}()
	<-queued
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled resize: %v, want context.Canceled", err)
	}
	if running, waiting := r.Stats(); running != 1 || waiting != 0 {
		t.Errorf("Stats() = %d running, %d queued; want 1, 0", running, waiting)
	}

	// The place it left in the queue is free again.
	errs2 := make(chan error, 1)
	go func() {
		_, _, err := r.Resize(context.Background(), src, opt)
		errs2 <- err
	}()
	<-queued
	select {
	case err := <-errs2:
		t.Errorf("queued resize returned early: %v", err)
	default:
	}
	release <- struct{}{} // first resize finishes
	<-started             // the queued one runs
	release <- struct{}{}
	if err := <-errs2; err != nil {
		t.Errorf("resize after the cancelled one: %v", err)
	}
}

func TestResizeWithDoneContextDoesNotQueue(t *testing.T) {
	r := New(PoolConfig{Workers: 1})
	r.hooks.queued = func() { t.Error("resize with a done context was queued") }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := r.Resize(ctx, testimages.PNG(testimages.Solid(8, 8, red)), Options{Edge: 8}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestNewDefaults(t *testing.T) {
	r := New(PoolConfig{Workers: 3})
	if got := cap(r.running); got != 3 {
		t.Errorf("workers = %d, want 3", got)
	}
	if r.queue.maxN != DefaultQueue || r.queue.maxBytes != 0 {
		t.Errorf("queue = %d, %d bytes; want %d, unbounded bytes", r.queue.maxN, r.queue.maxBytes, DefaultQueue)
	}
}

// A burst far beyond the workers waits instead of failing: with one
// worker busy, 64 more resizes queue up (the count a single-CPU process
// used to refuse 47 of) and all complete.
func TestResizeBurstQueuesByDefault(t *testing.T) {
	r := New(PoolConfig{Workers: 1})
	const burst = 64
	queued, release := make(chan struct{}, burst+1), make(chan struct{})
	r.hooks.queued = func() { queued <- struct{}{} }
	first := true
	r.hooks.started = func() {
		if first {
			first = false
			<-release
		}
	}
	src := testimages.PNG(testimages.Solid(16, 16, red))
	errs := make(chan error, burst+1)
	opt := Options{Edge: 8, Format: PNG}
	goResize(r, src, opt, errs)
	<-queued
	refused := 0
	for range burst {
		goResize(r, src, opt, errs)
		select {
		case <-queued:
		case err := <-errs:
			t.Errorf("resize refused while a worker is busy: %v", err)
			refused++
		}
	}
	if _, waiting := r.Stats(); waiting != burst-refused || refused > 0 {
		t.Errorf("%d queued, want %d", waiting, burst)
	}
	close(release)
	for range burst + 1 - refused {
		if err := <-errs; err != nil {
			t.Errorf("resize in the burst: %v", err)
		}
	}
}

// QueueBytes refuses a waiting resize whose source would take the queue
// past its bytes, however short the queue is.
func TestResizeBusyWhenQueueBytesFull(t *testing.T) {
	src := testimages.PNG(testimages.Solid(16, 16, red))
	r, queued, started, release := blockingPool(t, PoolConfig{Workers: 1, Queue: 100, QueueBytes: int64(len(src)) + 1})
	opt := Options{Edge: 8, Format: PNG}
	errs := make(chan error, 2)
	goResize(r, src, opt, errs)
	<-queued
	<-started
	goResize(r, src, opt, errs)
	<-queued // its bytes fill the queue
	if _, _, err := r.Resize(context.Background(), src, opt); !errors.Is(err, ErrBusy) {
		t.Errorf("resize past the queue's bytes: %v, want ErrBusy", err)
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("admitted resize: %v", err)
		}
	}
}
