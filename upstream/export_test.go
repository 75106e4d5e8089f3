package upstream

import "time"

// What the external tests need to tune and see the circuit breaker.

// BreakerConfig tunes a breaker in tests.
type BreakerConfig = breakerConfig

// DefaultBreakerCooldown is how long a circuit stays open.
const DefaultBreakerCooldown time.Duration = defaultBreakerCooldown

// WithBreakerConfig returns opt with the breaker tuned by bc.
func WithBreakerConfig(opt Options, bc BreakerConfig) Options {
	opt.breaker = bc
	return opt
}

// WithBreaker returns src behind a breaker tuned by cfg.
func WithBreaker(name string, src Source, cfg BreakerConfig) Source {
	return newBreaker(name, src, cfg, nil)
}
