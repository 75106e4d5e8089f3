package config

import (
	"slices"
	"time"
)

// Network limits used when an upstream leaves its timeout at zero.
const (
	DefaultConnectTimeout = 2 * time.Second
	DefaultHeaderTimeout  = 5 * time.Second
	DefaultFetchTimeout   = 10 * time.Second
)

// Timeouts returns the upstream's connect, response-header and whole-fetch
// limits, with the defaults filled in for those left at zero.
func (u Upstream) Timeouts() (connect, header, total time.Duration) {
	connect, header, total = u.ConnectTimeout.D(), u.HeaderTimeout.D(), u.Timeout.D()
	if connect == 0 {
		connect = DefaultConnectTimeout
	}
	if header == 0 {
		header = DefaultHeaderTimeout
	}
	if total == 0 {
		total = DefaultFetchTimeout
	}
	return connect, header, total
}

// dropinKind is the kind whose avatar URLs the drop-in answers, as the
// activecollab_dropin key says.
const dropinKind = "activecollab"

// DropinUpstream returns the name of the upstream that serves the
// ActiveCollab drop-in: activecollab_dropin when set, else the only
// activecollab upstream, else "".
func (c *Config) DropinUpstream() string {
	if c.ActiveCollabDropin != "" {
		return c.ActiveCollabDropin
	}
	name := ""
	for _, u := range c.Upstreams {
		if u.Kind == dropinKind {
			if name != "" {
				return ""
			}
			name = u.Name
		}
	}
	return name
}

// Upstream returns the upstream called name.
func (c *Config) Upstream(name string) (Upstream, bool) {
	for _, u := range c.Upstreams {
		if u.Name == name {
			return u, true
		}
	}
	return Upstream{}, false
}

// SizeFor maps a requested edge length to the one to render. With a Sizes
// list it rounds up to the next allowed size, or down to the largest when
// the request is above all of them, so the cache holds few variants.
// Without one it returns requested unchanged.
func (r Resize) SizeFor(requested int) int {
	if len(r.Sizes) == 0 {
		return requested
	}
	best := slices.Max(r.Sizes)
	for _, s := range r.Sizes {
		if s >= requested && s < best {
			best = s
		}
	}
	return best
}

// FormatEnabled reports whether f may be negotiated as an output format.
func (r Resize) FormatEnabled(f string) bool {
	return slices.Contains(r.Formats, f)
}
