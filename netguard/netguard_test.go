package netguard

import (
	"errors"
	"net/netip"
	"testing"
)

func TestMetadataRefusedEvenWhenAllowed(t *testing.T) {
	g, err := New(nil, []string{"169.254.0.0/16", "fd00::/8", "100.64.0.0/10"})
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"} {
		if g.Allowed(netip.MustParseAddr(addr)) {
			t.Errorf("%s allowed", addr)
		}
	}
	// The allowed ranges are open apart from the metadata addresses.
	for _, addr := range []string{"169.254.1.1", "fd00:ec2::253", "100.100.100.201"} {
		if !g.Allowed(netip.MustParseAddr(addr)) {
			t.Errorf("%s refused inside an allowed range", addr)
		}
	}
}

func TestDefaults(t *testing.T) {
	g := Default()
	refused := []string{"169.254.169.254", "169.254.10.10", "fe80::1", "0.0.0.0", "::", "224.0.0.251", "fd00:ec2::254", "100.100.100.200"}
	allowed := []string{"127.0.0.1", "10.1.2.3", "192.168.0.10", "::1", "fd12::1", "93.184.216.34"}
	for _, a := range refused {
		if g.Allowed(netip.MustParseAddr(a)) {
			t.Errorf("%s allowed by default", a)
		}
	}
	for _, a := range allowed {
		if !g.Allowed(netip.MustParseAddr(a)) {
			t.Errorf("%s refused by default", a)
		}
	}
}

func TestConfiguredDeny(t *testing.T) {
	g, err := New([]string{"10.0.0.0/8"}, []string{"10.9.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Allowed(netip.MustParseAddr("10.1.1.1")) || !g.Allowed(netip.MustParseAddr("10.9.1.1")) {
		t.Fatal("deny and allow lists not applied")
	}
	if _, err := New([]string{"10.0.0.0/33"}, nil); err == nil {
		t.Fatal("bad CIDR accepted")
	}
}

// A real dial through the guard to a metadata address is refused before
// any packet is sent.
func TestDialRefused(t *testing.T) {
	d := Default().Dialer(0)
	for _, addr := range []string{"[fd00:ec2::254]:80", "100.100.100.200:80", "169.254.169.254:80"} {
		conn, err := d.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			t.Fatalf("dialled %s", addr)
		}
		if !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: %v, want the guard's refusal", addr, err)
		}
	}
}
