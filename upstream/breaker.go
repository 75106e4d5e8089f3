package upstream

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/avatarproxy/avatarproxy/failure"
)

// The breaker's settings, which the README documents as fixed.
const (
	// DefaultBreakerFailures is how many failures in a row open a circuit.
	DefaultBreakerFailures = 5
	defaultBreakerCooldown = 10 * time.Second
)

// breakerConfig tunes a circuit breaker; tests shorten the cooldown.
type breakerConfig struct {
	// Failures is how many failures in a row open the circuit. Zero means
	// DefaultBreakerFailures.
	Failures uint32
	// DistinctIDs is how many different user ids those failures must
	// span: one id that fails again and again (an avatar the upstream
	// times out on, asked for by one client) says nothing of the upstream,
	// and must not shut everyone out. Zero, or more than Failures, means
	// Failures: every failure of the run is of another user.
	DistinctIDs int
	// Cooldown is how long an open circuit refuses fetches before it lets
	// one probe through. Zero or less means defaultBreakerCooldown.
	Cooldown time.Duration
}

// newBreaker returns src behind a circuit breaker, so that an upstream
// that is down costs its callers an immediate error rather than a timeout
// each. Only failures whose class counts the upstream unwell count:
// timeouts, unreachable hosts and 5xx statuses, and the circuit opens only
// when a run of them spans several users. While the circuit is open,
// Fetch returns an *Error of class circuit-open without a request. After
// the cooldown one probe goes through: success closes the circuit, failure
// opens it again. The result implements Namer when src does, with
// DisplayName behind the same breaker. onChange, when set, is called
// whenever the circuit opens or closes again.
func newBreaker(name string, src Source, cfg breakerConfig, onChange func(upstream string, open bool)) Source {
	if cfg.Failures == 0 {
		cfg.Failures = DefaultBreakerFailures
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = defaultBreakerCooldown
	}
	if cfg.DistinctIDs <= 0 || cfg.DistinctIDs > int(cfg.Failures) {
		cfg.DistinctIDs = int(cfg.Failures)
	}
	failing := &failingIDs{max: cfg.DistinctIDs}
	st := gobreaker.Settings{
		Name:    name,
		Timeout: cfg.Cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= cfg.Failures && failing.count() >= cfg.DistinctIDs
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			failing.reset()
			// Half-open is a detail of recovery: callers hear only of the
			// circuit opening and of it closing again.
			if open := to != gobreaker.StateClosed; onChange != nil && open != (from != gobreaker.StateClosed) {
				onChange(name, open)
			}
		},
	}
	b := &breaker{name: name, src: src, failing: failing, cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](st)}
	if n, ok := src.(Namer); ok {
		return &namingBreaker{breaker: b, namer: n}
	}
	return b
}

type breaker struct {
	name    string
	src     Source
	failing *failingIDs
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// failingIDs are the different user ids in the current run of failures,
// up to the number that opens the circuit: it holds a few ids at most.
type failingIDs struct {
	mu  sync.Mutex
	ids []string
	max int
}

func (f *failingIDs) add(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ids) < f.max && !slices.Contains(f.ids, id) {
		f.ids = append(f.ids, id)
	}
}

func (f *failingIDs) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ids)
}

func (f *failingIDs) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = f.ids[:0]
}

func (b *breaker) Fetch(ctx context.Context, userID string, cond Validators) (*Original, error) {
	done, err := b.allow()
	if err != nil {
		return nil, err
	}
	o, err := b.src.Fetch(ctx, userID, cond)
	b.record(ctx, userID, err, done)
	return o, err
}

// allow returns the circuit-open error when the breaker refuses a call,
// both while open and while the half-open probe is in flight.
func (b *breaker) allow() (func(bool), error) {
	done, err := b.cb.Allow()
	if err != nil {
		return nil, newError(b.name, failure.CircuitOpen, nil)
	}
	return done, nil
}

// record tells the breaker what a call for userID's error says about the
// upstream. A success ends the run of failures, as it resets the
// breaker's count of consecutive failures.
func (b *breaker) record(ctx context.Context, userID string, err error, done func(bool)) {
	switch outcome(ctx, err) {
	case failure.ShowsHealthy:
		b.failing.reset()
		done(true)
	case failure.CountsUnwell:
		// Before done, which may ask ReadyToTrip.
		b.failing.add(userID)
		done(false)
	default:
		// A call that proves nothing leaves the counts alone. A probe must
		// still be settled, or the half-open circuit would wait for it
		// forever; without proof of health it stays open. No one else can
		// move a half-open circuit while its probe is out, and done ignores
		// a call made before the state changed, so checking here is safe.
		if b.cb.State() == gobreaker.StateHalfOpen {
			done(false)
		}
	}
}

type namingBreaker struct {
	*breaker
	namer Namer
}

func (b *namingBreaker) DisplayName(ctx context.Context, userID string) (string, error) {
	done, err := b.allow()
	if err != nil {
		return "", err
	}
	name, err := b.namer.DisplayName(ctx, userID)
	b.record(ctx, userID, err, done)
	return name, err
}

// outcome reads what a call's error says about the upstream's health from
// its failure class. A caller that hung up shows nothing either way, and
// neither does an error no class was given to.
func outcome(ctx context.Context, err error) failure.Health {
	if err == nil {
		return failure.ShowsHealthy
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return failure.ProvesNothing
	}
	c, ok := failure.Of(err)
	if !ok {
		return failure.ProvesNothing
	}
	return c.Health
}
