package fakeprovider

import (
	"fmt"
	"sync"
	"time"
)

// tokenIssuer issues access tokens that expire, as a provider's token or
// authentication endpoint does, and tells live tokens from expired,
// revoked and unknown ones.
type tokenIssuer struct {
	prefix string

	mu       sync.Mutex
	lifetime time.Duration
	live     map[string]time.Time // token -> expiry
	issued   int
}

func newTokenIssuer(prefix string, lifetime time.Duration) *tokenIssuer {
	return &tokenIssuer{prefix: prefix, lifetime: lifetime, live: make(map[string]time.Time)}
}

// setLifetime sets how long the tokens issued from now on live.
func (i *tokenIssuer) setLifetime(d time.Duration) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.lifetime = d
}

// issue returns a new token, its expiry and its lifetime. Expired tokens
// are forgotten, so the set stays as small as the live ones.
func (i *tokenIssuer) issue() (token string, expires time.Time, lifetime time.Duration) {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := time.Now()
	for t, exp := range i.live {
		if !now.Before(exp) {
			delete(i.live, t)
		}
	}
	i.issued++
	token = fmt.Sprintf("%s%d-%d", i.prefix, i.issued, now.UnixNano())
	i.live[token] = now.Add(i.lifetime)
	return token, i.live[token], i.lifetime
}

// valid reports whether token was issued, has not expired and was not
// revoked.
func (i *tokenIssuer) valid(token string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	exp, ok := i.live[token]
	return ok && time.Now().Before(exp)
}

// revokeAll makes every token issued so far invalid before its expiry.
func (i *tokenIssuer) revokeAll() {
	i.mu.Lock()
	defer i.mu.Unlock()
	clear(i.live)
}
