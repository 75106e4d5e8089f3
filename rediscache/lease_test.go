package rediscache

import (
	"strings"
	"testing"
)

// A lease hit is the path of almost every request while Redis is up: it
// must cost no allocation, whatever the length of the user id.
func TestGenerationsLeaseHitAllocatesNothing(t *testing.T) {
	srv := startRedis(t)
	r := openReplica(t, srv.url(), false)
	for _, user := range []string{"up\x00alice", "up\x00" + strings.Repeat("u", 300)} {
		want := r.gens.Get(user) // takes the lease
		var got uint64
		allocs := testing.AllocsPerRun(100, func() { got = r.gens.Get(user) })
		if got != want {
			t.Fatalf("%d-byte user: a lease hit gave %d, want %d", len(user), got, want)
		}
		if allocs != 0 {
			t.Errorf("%d-byte user: a lease hit allocates %v times", len(user), allocs)
		}
	}
}

// Fan-out messages carry tags; a replica reads them back to the sums it
// keys leases by, and ignores anything else on the channel.
func TestTagsDecodeToTheirSums(t *testing.T) {
	for _, user := range []string{"", "up\x00alice", strings.Repeat("u", 300)} {
		if got, ok := sumOfTag(string(tagOf(user))); !ok || got != sumOf(user) {
			t.Fatalf("%q: tag decodes to %x, %v; want %x", user, got, ok, sumOf(user))
		}
	}
	tag := string(tagOf("up\x00alice"))
	for _, bad := range []string{"", "x", tag + "A", tag[:len(tag)-1], "!" + tag[1:], strings.Repeat("A", 1000)} {
		if _, ok := sumOfTag(bad); ok {
			t.Fatalf("%q decoded as a tag", bad)
		}
	}
}
