package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxRenewalLead bounds how long before its expiry a token is renewed.
const maxRenewalLead = time.Minute

// maxProviderText bounds how much of a token endpoint's own explanation
// goes into an error.
const maxProviderText = 200

// issuedToken is what a token endpoint answered: the access token and when
// it expires, zero when the endpoint did not say.
type issuedToken struct {
	value   string
	expires time.Time
}

// tokenCache holds the access token an upstream's requests carry. It
// obtains one on first use, renews it shortly before it expires and after
// the API refused it, and lets a single exchange serve every request that
// needs a token meanwhile: a burst of requests, or of 401s, costs one
// exchange.
type tokenCache struct {
	// obtain exchanges the upstream's credentials for a token. Its errors
	// must not carry the credentials.
	obtain func(ctx context.Context) (issuedToken, error)
	// scheme precedes the token in the Authorization header: "Bearer " or
	// nothing.
	scheme string
	// timeout bounds one exchange, whoever waits for it.
	timeout time.Duration
	now     func() time.Time

	flight singleflight.Group

	mu      sync.Mutex
	current string    // Authorization value; empty: none, or refused
	renewAt time.Time // zero: keep current until it is refused
	expires time.Time // set when renewAt is
}

func newTokenCache(scheme string, timeout time.Duration, obtain func(context.Context) (issuedToken, error)) *tokenCache {
	return &tokenCache{obtain: obtain, scheme: scheme, timeout: timeout, now: time.Now}
}

// authorization returns the Authorization value for a request, obtaining a
// token first when there is none, or it was refused, or it has expired. A
// token due for renewal but still good is used while the renewal runs, so
// that neither the exchange's time nor its failure reaches the request.
func (c *tokenCache) authorization(ctx context.Context) (string, error) {
	c.mu.Lock()
	current, renewAt, expires := c.current, c.renewAt, c.expires
	c.mu.Unlock()
	if now := c.now(); current != "" {
		if renewAt.IsZero() || now.Before(renewAt) {
			return current, nil
		}
		if now.Before(expires) {
			c.flight.DoChan("", c.exchange(ctx)) // its channel is buffered
			return current, nil
		}
	}
	select {
	case r := <-c.flight.DoChan("", c.exchange(ctx)):
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// exchange obtains a token and keeps it. It runs on its own deadline, not
// the caller's: it serves every caller that joins it, and one caller
// giving up must not fail the others.
func (c *tokenCache) exchange(ctx context.Context) func() (any, error) {
	return func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		start := c.now()
		t, err := c.obtain(ctx)
		if err != nil {
			return "", err
		}
		value := c.scheme + t.value
		c.mu.Lock()
		c.current, c.renewAt, c.expires = value, renewalTime(start, t.expires), t.expires
		c.mu.Unlock()
		return value, nil
	}
}

// refused tells the cache that the API answered 401 to value. The next
// authorization obtains a new token, unless one already replaced value:
// the requests of a burst that were all refused the same token renew it
// once between them.
func (c *tokenCache) refused(value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current == value {
		c.current = ""
	}
}

// renewalTime is when a token obtained at start and expiring at expires is
// renewed: a fifth of its lifetime early, at most maxRenewalLead. A token
// without an expiry, or one already expired by the local clock (a clock
// apart from the provider's), is kept until the API refuses it.
func renewalTime(start, expires time.Time) time.Time {
	lifetime := expires.Sub(start)
	if expires.IsZero() || lifetime <= 0 {
		return time.Time{}
	}
	return expires.Add(-min(lifetime/5, maxRenewalLead))
}

// errNoToken marks a token endpoint that refused the credentials or
// answered something that is no token; reasonFor classifies it as "auth".
var errNoToken = errors.New("no token")

// tokenError is a failed exchange, with the upstream's secrets removed
// from its text: a token endpoint may echo what it was sent, and the text
// goes to logs.
type tokenError struct {
	msg   string
	cause error // errNoToken, or the transport's error for reasonFor
}

func (e *tokenError) Error() string { return e.msg }
func (e *tokenError) Unwrap() error { return e.cause }

// newTokenError describes a failed exchange at endpoint. A transport
// failure keeps its cause for classification, without the URL net/http
// puts in its text.
func newTokenError(endpoint *url.URL, err error, secrets ...string) error {
	err = withoutURL(err)
	msg := fmt.Sprintf("obtaining an access token from %s: %v", describe(endpoint), err)
	for _, s := range secrets {
		if s != "" {
			// As sent, and as a form or a JSON body may carry it back.
			for _, form := range []string{s, url.QueryEscape(s), strings.Trim(strconv.Quote(s), `"`)} {
				msg = strings.ReplaceAll(msg, form, "[redacted]")
			}
		}
	}
	return &tokenError{msg: msg, cause: err}
}

// refusal is the error for a token endpoint's answer that carries no
// token: the HTTP status and the endpoint's own words for why, cut short.
func refusal(status int, code, description string) error {
	text := strings.TrimSpace(code + ": " + description)
	text = strings.TrimSuffix(strings.TrimPrefix(text, ": "), ":")
	if len(text) > maxProviderText {
		text = text[:maxProviderText] + "..."
	}
	if text == "" {
		return fmt.Errorf("%w: status %d", errNoToken, status)
	}
	return fmt.Errorf("%w: status %d: %s", errNoToken, status, strings.ToValidUTF8(text, "?"))
}

// useToken makes the fetcher's requests carry a token that obtain
// exchanges the upstream's credentials for, preceded by scheme. Each
// exchange is bounded by the fetch's own deadline, and its errors name
// endpoint with secret removed from their text.
func (f *fetcher) useToken(scheme string, endpoint *url.URL, secret string, obtain func(context.Context) (issuedToken, error)) {
	f.token = newTokenCache(scheme, f.total, func(ctx context.Context) (issuedToken, error) {
		t, err := obtain(ctx)
		if err != nil {
			return issuedToken{}, newTokenError(endpoint, err, secret)
		}
		return t, nil
	})
}

// tokenClient is the client for token exchanges: the upstream's own
// transport, dial guard and redirect rules, with each exchange reported to
// Observe like any other request.
func (f *fetcher) tokenClient() *http.Client {
	return &http.Client{
		Transport:     observedTransport{base: f.client.Transport, f: f},
		CheckRedirect: f.client.CheckRedirect,
	}
}

// observedTransport reports each round trip to the fetcher's Observe.
type observedTransport struct {
	base http.RoundTripper
	f    *fetcher
}

func (t observedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		t.f.report("error", start)
		return nil, err
	}
	t.f.report(strconv.Itoa(resp.StatusCode), start)
	return resp, nil
}
