// Package rediscache is avatarproxy's shared tier: one Redis (a single node
// or a Redis Cluster) behind the in-memory tiers of every replica. It holds
// originals (with the version tokens confirmed for them) and rendered
// variants with TTLs, so that one upstream fetch serves every replica, and
// it holds the per-user generations, so that a purge taken by any replica
// is in force on all of them.
//
// # Client
//
// It uses github.com/redis/go-redis/v9: its UniversalClient serves one node
// and a cluster through one interface, its scripts fall back from EVALSHA to
// EVAL after a restart, and its pub/sub resubscribes by itself and tells us
// when it did. rueidis's server-assisted client-side caching would fit
// generations too, but it invalidates per connection and still needs a
// bound for the time a connection is broken and not yet noticed; a short
// lease gives that bound directly, for one node and a cluster alike, with a
// client most Go code already knows.
//
// # Generations and the one-second promise
//
// A generation is read from Redis and trusted for Lease (500 ms) from the
// moment the read was sent. A purge bumps the record in Redis (a Lua script,
// atomic) and publishes the user's tag; every replica drops its lease on
// that message, so a purge usually reaches every replica within
// milliseconds. Pub/sub is at-most-once: a replica that misses the message
// still reads Redis again when its lease runs out, so a purge is in force on
// every replica within Lease plus one read, under a second, whatever
// happens to the messages. A replica whose subscription was re-established
// drops every lease at once. The cost is at most one small read per user
// active on a replica per Lease (two a second), and one PUBLISH per purge.
//
// Generations come from Redis's clock in microseconds and only grow, so a
// value is never handed out twice, not even after Redis lost its data: an
// unknown user gets a new record, which makes what replicas cached before
// unreachable instead of reviving it.
//
// # When Redis is slow or away
//
// Every command runs under Config.Timeout (50 ms by default), without
// retries. A failed command marks Redis as away: the gauge
// avatarproxy_redis_connected drops to 0, a line is logged, and the serving
// path stops asking Redis (lookups miss, writes are skipped) while a probe
// retries every 250 ms. Meanwhile a replica serves from memory with the
// generations it last read, unverified. Purges it takes are in force on it
// at once and are written to Redis (and so fanned out) as soon as Redis
// answers again; purges taken by other replicas reach it only then. Users
// it holds no record of get a generation new to each outage. On reconnect
// every lease is dropped before the serving path turns to Redis again.
//
// # Keys
//
// Every key is avatarproxy:{tag}:..., where tag is 128 bits of SHA-256 of
// the user (upstream and id), base64url: the length is bounded whatever the
// id, and all of a user's keys share one Redis Cluster slot while users
// spread over the cluster.
package rediscache
