// Package netguard decides which addresses the proxy may open outbound
// connections to. Its Control hook runs on every dial after name
// resolution, on the address actually dialled, so a hostname that
// resolves to a refused address is caught too, and a refused address never
// sees a packet.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbidden marks a dial the guard refused.
var ErrForbidden = errors.New("refusing to connect to a forbidden address")

// Metadata are the cloud metadata services' addresses. They hand out
// instance credentials to whoever asks, so they are refused always, even
// inside an allowed range.
var Metadata = []netip.Prefix{
	netip.MustParsePrefix("169.254.169.254/32"), // AWS, GCP, Azure, OpenStack, ...
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS over IPv6
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud
}

// DefaultDeny are the ranges refused when none are configured: link-local
// unicast and multicast (where metadata services live) and the unspecified
// addresses. Loopback and private ranges stay allowed: upstreams are often
// internal services.
var DefaultDeny = []string{
	"169.254.0.0/16", "fe80::/10", // link-local unicast
	"224.0.0.0/24", "ff02::/16", // link-local multicast
	"0.0.0.0/32", "::/128", // unspecified
}

// Guard refuses dials to denied ranges, except where an allowed range
// carves an exception out of them, and to the Metadata addresses always.
type Guard struct {
	deny, allow []netip.Prefix
}

// New returns a Guard over CIDR lists; a nil deny means DefaultDeny.
func New(deny, allow []string) (*Guard, error) {
	if deny == nil {
		deny = DefaultDeny
	}
	g := &Guard{}
	var err error
	if g.deny, err = ParsePrefixes(deny); err != nil {
		return nil, err
	}
	if g.allow, err = ParsePrefixes(allow); err != nil {
		return nil, err
	}
	return g, nil
}

// Default returns the Guard of DefaultDeny with no exceptions.
func Default() *Guard {
	g, err := New(nil, nil)
	if err != nil {
		panic(err) // DefaultDeny is constant and valid
	}
	return g
}

// ParsePrefixes parses CIDRs such as 10.0.0.0/8 or fd00::/8.
func ParsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR range: %w", c, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Allowed reports whether ip may be dialled.
func (g *Guard) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range Metadata {
		if p.Contains(ip) {
			return false
		}
	}
	for _, p := range g.allow {
		if p.Contains(ip) {
			return true
		}
	}
	for _, p := range g.deny {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Control is a net.Dialer.Control hook refusing what Allowed refuses.
func (g *Guard) Control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dial guard: %w", err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial guard: %w", err)
	}
	if !g.Allowed(ip) {
		return fmt.Errorf("%w: %s", ErrForbidden, ip.Unmap())
	}
	return nil
}

// Dialer returns a dialer with the guard, the connect timeout and TCP
// keep-alives.
func (g *Guard) Dialer(connect time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second, Control: g.Control}
}

// Transport returns a transport that dials through the guard with the
// connect timeout, which bounds the TLS handshake too, and waits at most
// header for a response's headers. It keeps connections alive, tries
// HTTP/2, and takes no proxy from the environment: a proxy would dial in
// the guard's place.
func (g *Guard) Transport(connect, header time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           g.Dialer(connect).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: header,
		ExpectContinueTimeout: time.Second,
	}
}
