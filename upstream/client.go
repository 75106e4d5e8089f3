package upstream

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/netguard"
)

// MaxRedirects is how many redirects a fetch follows, all within the
// upstream's own origin.
const MaxRedirects = 3

// errRedirect marks a redirect the client refused to follow.
var errRedirect = errors.New("redirect refused")

// NewTransport returns the transport for an upstream: its connect and
// response-header timeouts, keep-alives, no proxy from the environment, and
// guard on every dial (netguard.Default when nil).
func NewTransport(cfg config.Upstream, guard *netguard.Guard) *http.Transport {
	if guard == nil {
		guard = netguard.Default()
	}
	connect, header, _ := cfg.Timeouts()
	return guard.Transport(connect, header)
}

// NewHTTPClient returns the client for an upstream: NewTransport's rules,
// plus redirects followed at most MaxRedirects times and only within the
// origin (scheme, host and port) of the upstream's base_url or
// url_template. The client has no overall timeout: callers bound each
// fetch, body included, with a context deadline.
func NewHTTPClient(cfg config.Upstream, guard *netguard.Guard) *http.Client {
	return &http.Client{
		Transport:     NewTransport(cfg, guard),
		CheckRedirect: sameOriginRedirects(configuredOrigin(cfg)),
	}
}

// configuredOrigin is the origin of the upstream's base_url, or of its
// url_template for the http kind; empty when neither parses.
func configuredOrigin(cfg config.Upstream) string {
	raw := cfg.BaseURL
	if raw == "" {
		raw = strings.ReplaceAll(cfg.URLTemplate, userIDPlaceholder, "x")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return originOf(u)
}

// originOf returns u's scheme, host and port with the default port made
// explicit, so that https://a and https://a:443 compare equal.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

func sameOriginRedirects(origin string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > MaxRedirects {
			return fmt.Errorf("%w: more than %d redirects", errRedirect, MaxRedirects)
		}
		if origin == "" || originOf(req.URL) != origin {
			return fmt.Errorf("%w: to another origin (%s)", errRedirect, req.URL.Host)
		}
		return nil
	}
}
