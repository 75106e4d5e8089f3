package upstream

import (
	"context"
	"errors"
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
	// Cooldown is how long an open circuit refuses fetches before it lets
	// one probe through. Zero or less means defaultBreakerCooldown.
	Cooldown time.Duration
}

// newBreaker returns src behind a circuit breaker, so that an upstream
// that is down costs its callers an immediate error rather than a timeout
// each. Only failures whose class counts the upstream unwell count:
// timeouts, unreachable hosts and 5xx statuses. While the circuit is open,
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
	st := gobreaker.Settings{
		Name:    name,
		Timeout: cfg.Cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= cfg.Failures
		},
	}
	if onChange != nil {
		// Half-open is a detail of recovery: callers hear only of the
		// circuit opening and of it closing again.
		st.OnStateChange = func(name string, from, to gobreaker.State) {
			if open := to != gobreaker.StateClosed; open != (from != gobreaker.StateClosed) {
				onChange(name, open)
			}
		}
	}
	b := &breaker{name: name, src: src, cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](st)}
	if n, ok := src.(Namer); ok {
		return &namingBreaker{breaker: b, namer: n}
	}
	return b
}

type breaker struct {
	name string
	src  Source
	cb   *gobreaker.TwoStepCircuitBreaker[struct{}]
}

func (b *breaker) Fetch(ctx context.Context, userID string, cond Validators) (*Original, error) {
	done, err := b.allow()
	if err != nil {
		return nil, err
	}
	o, err := b.src.Fetch(ctx, userID, cond)
	b.record(ctx, err, done)
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

// record tells the breaker what a call's error says about the upstream.
func (b *breaker) record(ctx context.Context, err error, done func(bool)) {
	switch outcome(ctx, err) {
	case failure.ShowsHealthy:
		done(true)
	case failure.CountsUnwell:
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
	b.record(ctx, err, done)
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
