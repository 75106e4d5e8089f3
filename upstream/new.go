package upstream

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/netguard"
)

// DefaultMaxBytes bounds an original when Options.MaxBytes is not set.
const DefaultMaxBytes = 10 << 20

// Options are the settings a Source takes from outside its own upstream
// configuration.
type Options struct {
	// MaxBytes bounds the size of an original, enforced while reading.
	// Zero or less means DefaultMaxBytes.
	MaxBytes int64
	// Observe, when set, is called once per outbound request with the
	// response's status code ("200", "404", "304", ...) or "error" when no
	// response came, and how long the request took, body included. For the
	// file kind it is called once per fetch with "200", "404", "304" or
	// "error".
	Observe func(upstream, code string, d time.Duration)
	// breaker tunes the circuit breaker in front of every upstream but the
	// file kind; the zero value means the defaults. Only tests change it.
	breaker breakerConfig
	// OnStateChange, when set, is called with open true when an upstream's
	// circuit opens and false when it closes again. It runs inside the
	// breaker's lock, so it must be quick and must not call the Source.
	OnStateChange func(upstream string, open bool)
	// Guard decides which addresses fetches may dial; nil means
	// netguard.Default.
	Guard *netguard.Guard
}

// New returns the Source for an upstream that passed validation against
// Kinds, built by the provider its kind names. Sources that reach the
// network sit behind a circuit breaker (see newBreaker); the file kind
// does not, since a local disk has no outage to shield callers from.
func New(cfg config.Upstream, opt Options) (Source, error) {
	p := ProviderOf(cfg.Kind)
	if p == nil {
		return nil, fmt.Errorf("upstream %q: unknown kind %q", cfg.Name, cfg.Kind)
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	src := p.newSource(cfg, opt)
	if !hasBreaker(p) {
		return src, nil
	}
	return newBreaker(cfg.Name, src, opt.breaker, opt.OnStateChange), nil
}

// HasBreaker reports whether New puts the sources of kind behind a circuit
// breaker: every kind but those that read the local disk.
func HasBreaker(kind string) bool {
	return hasBreaker(ProviderOf(kind))
}

// hasBreaker is HasBreaker for the provider of the kind, nil for none.
func hasBreaker(p Provider) bool {
	_, local := p.(localProvider)
	return p != nil && !local
}

// parseBaseURL returns a validated base_url, parsed and as a string without
// a trailing slash, ready for paths to be appended.
func parseBaseURL(cfg config.Upstream) (*url.URL, string) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		u = &url.URL{} // not validated: every request fails cleanly
	}
	return u, strings.TrimSuffix(u.String(), "/")
}

// isPathSegmentID reports whether id can stand as one segment of a
// provider's URL path. Escaping keeps a slash inside the segment, but "."
// and ".." would still be resolved as path steps by servers on the way.
func isPathSegmentID(id string) bool {
	return id != "" && id != "." && id != ".."
}
