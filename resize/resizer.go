// Package resize turns an avatar's original bytes into the bytes to send: a
// square of exactly the requested edge, oriented, cropped, converted to sRGB,
// stripped of metadata and encoded, by libvips in one cgo call (pipeline.c),
// with a bounded pool of workers in front; bimg only starts and stops
// libvips. Every error Resize returns carries a failure class.
package resize

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/failure"
)

var (
	// ErrTooLarge is returned for a source over a limit: bytes, pixels,
	// decoded bytes or frames.
	ErrTooLarge error = failure.New(failure.TooLarge, "resize: image too large")
	// ErrBusy is returned when all workers are busy and the queue is full,
	// or when ctx's deadline passes before a worker is free.
	ErrBusy error = failure.New(failure.Busy, "resize: no worker free")
	// ErrBadImage is returned for a source whose header looked fine but
	// whose body is damaged or cannot be decoded.
	ErrBadImage error = failure.New(failure.BadImage, "resize: bad image")
)

const (
	// MaxEdge is the largest output edge Resize accepts: the limit the
	// configuration holds resize.max_size to.
	MaxEdge = config.MaxEdge
	// DefaultQuality is the encoder quality used when Options.Quality is 0.
	DefaultQuality = 80
)

// Options says what to make of a source.
type Options struct {
	Edge int // width and height of the output, 1..MaxEdge

	// Format is the output format; "" means the source's own family: PNG
	// when the source has an alpha channel, otherwise JPEG.
	Format Format

	Quality int // encoder quality 1..100; 0 means DefaultQuality

	// Attention crops to the part of the image libvips finds most
	// interesting instead of the centre.
	Attention bool
}

func (o Options) validate() error {
	if o.Edge < 1 || o.Edge > MaxEdge {
		return fmt.Errorf("resize: edge %d out of range 1..%d", o.Edge, MaxEdge)
	}
	if o.Format != "" && !o.Format.encodable() {
		return fmt.Errorf("resize: cannot encode %q", o.Format)
	}
	if o.Quality < 0 || o.Quality > 100 {
		return fmt.Errorf("resize: quality %d out of range 1..100", o.Quality)
	}
	return nil
}

// Limits bound the sources Resize accepts; zero means no limit.
type Limits struct {
	MaxSourceBytes  int64
	MaxSourcePixels int64
	// MaxSourceDecodedBytes bounds the memory the decoded source takes:
	// pixels x bands x bytes per sample, as the header says.
	MaxSourceDecodedBytes int64
}

// PoolConfig configures a Resizer.
type PoolConfig struct {
	Workers int // resizes running at once; 0 means runtime.NumCPU()
	// Queue bounds the resizes waiting for a worker; 0 means DefaultQueue.
	Queue int
	// QueueBytes bounds the source bytes of the resizes waiting for a
	// worker; 0 means no bound beyond Queue. A waiting resize holds only
	// its encoded source, so the queue can be long: the memory of
	// decoding is only taken by the workers.
	QueueBytes int64
	Limits     Limits

	// Observe, if set, is called after each successful resize with the
	// output format and the time the resize took, queueing excluded.
	Observe func(format Format, d time.Duration)
}

// DefaultQueue is the number of resizes that may wait for a worker when
// PoolConfig.Queue is 0: a burst of cold avatars waits rather than fails.
const DefaultQueue = 1024

// Resizer resizes images on a bounded number of workers.
type Resizer struct {
	limits  Limits
	observe func(Format, time.Duration)

	// running holds a token for every resize that has a worker.
	running chan struct{}
	// queue counts the resizes waiting for a worker, and their bytes.
	queue struct {
		sync.Mutex
		n, maxN         int
		bytes, maxBytes int64
	}

	// hooks lets tests see a resize enter the queue or start running.
	hooks struct{ queued, started func() }
}

// New returns a Resizer configured by cfg. It starts libvips if needed.
func New(cfg PoolConfig) *Resizer {
	Startup()
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	r := &Resizer{
		limits:  cfg.Limits,
		observe: cfg.Observe,
		running: make(chan struct{}, workers),
	}
	r.queue.maxN = cfg.Queue
	if r.queue.maxN <= 0 {
		r.queue.maxN = DefaultQueue
	}
	r.queue.maxBytes = cfg.QueueBytes
	return r
}

// Resize makes src into an opt.Edge square in the format opt asks for and
// returns the encoded bytes and their format.
//
// Sources over the limits fail with ErrTooLarge before libvips sees them;
// sources Inspect refuses fail with its ErrUnsupported. When the queue is
// full Resize fails at once with ErrBusy; when ctx ends while it waits for
// a worker, ErrBusy when its deadline passed and ctx.Err() when it was
// cancelled. A damaged source, or one libvips cannot decode, fails with
// ErrBadImage; any other libvips failure is of class failure.RenderFailed,
// and invalid options, a caller's bug, of class failure.Internal.
func (r *Resizer) Resize(ctx context.Context, src []byte, opt Options) (out []byte, format Format, err error) {
	if err := opt.validate(); err != nil {
		return nil, "", failure.Wrap(failure.Internal, err)
	}
	info, err := r.checkSource(src)
	if err != nil {
		// What the checks refuse is the source's fault; any refusal that
		// names no class of its own is a damaged image.
		if _, ok := failure.Of(err); !ok {
			err = failure.Wrap(failure.BadImage, err)
		}
		return nil, "", err
	}

	if err := r.acquire(ctx, int64(len(src))); err != nil {
		return nil, "", err
	}
	defer r.release()

	start := time.Now()
	out, format, err = process(src, info, opt)
	if err != nil {
		if _, ok := failure.Of(err); !ok {
			err = failure.Wrap(failure.RenderFailed, err)
		}
		return nil, "", err
	}
	if r.observe != nil {
		r.observe(format, time.Since(start))
	}
	return out, format, nil
}

// Stats returns how many resizes are running and how many are waiting.
func (r *Resizer) Stats() (running, queued int) {
	r.queue.Lock()
	defer r.queue.Unlock()
	return len(r.running), r.queue.n
}

// MaxFrames is the most frames an animated source may have.
const MaxFrames = 1000

// checkSource refuses src from its bytes alone, before it takes a worker:
// over a limit, not an accepted image, or visibly damaged.
func (r *Resizer) checkSource(src []byte) (Info, error) {
	if limit := r.limits.MaxSourceBytes; limit > 0 && int64(len(src)) > limit {
		return Info{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(src), limit)
	}
	s, err := inspect(src)
	if err != nil {
		return Info{}, err
	}
	if limit := r.limits.MaxSourcePixels; limit > 0 && s.pixels > uint64(limit) {
		return Info{}, fmt.Errorf("%w: %s of %dx%d decodes %d pixels, limit %d", ErrTooLarge, s.Format, s.Width, s.Height, s.pixels, limit)
	}
	if limit := r.limits.MaxSourceDecodedBytes; limit > 0 && s.decodedBytes() > uint64(limit) {
		return Info{}, fmt.Errorf("%w: %s of %dx%d decodes to %d bytes, limit %d", ErrTooLarge, s.Format, s.Width, s.Height, s.decodedBytes(), limit)
	}
	// Only the first frame is drawn, but libvips walks them all to count
	// them; an avatar needs no more than a short loop.
	if s.Frames > MaxFrames {
		return Info{}, fmt.Errorf("%w: %d frames, limit %d", ErrTooLarge, s.Frames, MaxFrames)
	}
	if s.malformed != nil {
		return Info{}, s.malformed
	}
	if err := checkIntact(src, s); err != nil {
		return Info{}, err
	}
	return s.Info, nil
}

// acquire takes a worker for a source of size bytes: at once when one is
// free, else after waiting in the queue; it fails at once when the queue
// is full, by count or by bytes. Running out of time before a worker is
// free is overload too, ErrBusy: the client should come back, not give up.
func (r *Resizer) acquire(ctx context.Context, size int64) error {
	if err := ctx.Err(); err != nil {
		return waitFailed(err)
	}
	select {
	case r.running <- struct{}{}:
		// While resizes wait, every freed worker passes straight to one
		// of them, so a newcomer only gets here when none waits.
		r.notify(r.hooks.queued)
		r.notify(r.hooks.started)
		return nil
	default:
	}
	if !r.enqueue(size) {
		return ErrBusy
	}
	defer r.dequeue(size)
	r.notify(r.hooks.queued)
	select {
	case r.running <- struct{}{}:
	case <-ctx.Done():
		return waitFailed(ctx.Err())
	}
	r.notify(r.hooks.started)
	return nil
}

func (r *Resizer) notify(hook func()) {
	if hook != nil {
		hook()
	}
}

// enqueue takes a place in the queue for size bytes, if there is one.
func (r *Resizer) enqueue(size int64) bool {
	q := &r.queue
	q.Lock()
	defer q.Unlock()
	if q.n >= q.maxN || q.maxBytes > 0 && q.bytes+size > q.maxBytes {
		return false
	}
	q.n++
	q.bytes += size
	return true
}

func (r *Resizer) dequeue(size int64) {
	q := &r.queue
	q.Lock()
	defer q.Unlock()
	q.n--
	q.bytes -= size
}

// waitFailed is the error of a wait for a worker that ctx ended.
func waitFailed(ctxErr error) error {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		return fmt.Errorf("%w before the deadline: %w", ErrBusy, ctxErr)
	}
	return ctxErr
}

func (r *Resizer) release() { <-r.running }
