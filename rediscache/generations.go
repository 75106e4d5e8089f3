package rediscache

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/avatarproxy/avatarproxy/cache"
)

const (
	// Lease is how long a replica trusts a generation it read from Redis
	// without asking again. A purge anywhere is in force everywhere once
	// the leases taken before it have run out, whatever happened to the
	// fan-out message meant to end them sooner; this is the bound of the
	// one-second promise, with room for a slow read.
	Lease = 500 * time.Millisecond
	// maxLeases bounds the leases held (about 64 bytes each).
	maxLeases = 1 << 17
	// maxPending bounds the purges taken while Redis was away and kept to
	// be replayed to it.
	maxPending = 1 << 16
	// replayBatch is how many pending purges go to Redis in one pipeline.
	replayBatch = 256
)

// Generations are generations (see cache.Generations) kept in Redis and
// shared by every replica. Values come from Redis's clock in microseconds,
// and a new one is always above the last, so a generation is never handed
// out twice: not when a record expires, nor when Redis loses its data. An
// unknown user gets a new record, which makes whatever was cached before
// unreachable rather than resurrecting it.
type Generations struct {
	c *Client
	// reads collapses concurrent reads of one user's record, each bounded
	// by the client's timeout.
	reads *cache.Group[uint64]

	mu     sync.Mutex
	leases map[userSum]lease
	// pending holds the generations of users purged while Redis was away:
	// in force here at once, written to Redis when it answers again.
	pending map[userSum]uint64
	// outage is the generation of users this replica has no record of
	// while Redis is away; it is new for every outage.
	outage uint64
	last   uint64 // the last generation made here, to keep local ones unique

	pubsub *redis.PubSub
	// subscribed counts the (re)subscriptions to the fan-out channel.
	subscribed atomic.Int64
	done       chan struct{}
}

type lease struct {
	gen   uint64
	taken time.Time // before the read was sent
}

// The generation record of a user: a decimal string. Reading creates a
// missing record at the current time, and a bump moves it to the current
// time or one above its value, whichever is higher, so values only grow.
var (
	readGeneration = redis.NewScript(`
local g = redis.call('GET', KEYS[1])
if g then return g end
local t = redis.call('TIME')
g = t[1] .. string.format('%06d', tonumber(t[2]))
redis.call('SET', KEYS[1], g, 'PX', ARGV[1])
return g`)
	bumpGeneration = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, now)
local g = string.format('%d', n)
redis.call('SET', KEYS[1], g, 'PX', ARGV[1])
return g`)
)

// NewGenerations returns the shared generations of c and starts listening
// for fan-out messages; Close stops it. Call it before c.Start.
func NewGenerations(c *Client) *Generations {
	g := &Generations{
		c:       c,
		reads:   cache.NewGroup[uint64](c.cfg.Timeout),
		leases:  make(map[userSum]lease),
		pending: make(map[userSum]uint64),
		done:    make(chan struct{}),
	}
	g.outage = g.next(0)
	c.OnDown(g.wentDown)
	c.OnUp(g.forgetAll)
	c.OnHealthy(g.replay)
	g.pubsub = c.rdb.Subscribe(context.Background(), fanoutChannel)
	go g.listen()
	return g
}

// Get returns the user's current generation: a lease younger than Lease,
// else Redis's record. While Redis is away it answers from what this
// replica knows, unverified: its own purges, its last reads, and for
// anyone else this outage's generation.
func (g *Generations) Get(user string) uint64 {
	sum := sumOf(user)
	now := time.Now()
	g.mu.Lock()
	if gen, ok := g.pending[sum]; ok {
		g.mu.Unlock()
		return gen
	}
	l, known := g.leases[sum]
	outage := g.outage
	g.mu.Unlock()
	if known && now.Sub(l.taken) < Lease {
		return l.gen
	}
	if g.c.Up() {
		gen, _, err := g.reads.Do(context.Background(), string(sum.tag()), func(ctx context.Context) (uint64, error) {
			return g.run(ctx, readGeneration, sum)
		})
		if err == nil {
			return gen
		}
	}
	if known {
		return l.gen
	}
	return outage
}

// run runs a script on the user's generation record and takes a lease on
// the generation it returns.
func (g *Generations) run(ctx context.Context, script *redis.Script, sum userSum) (uint64, error) {
	taken := time.Now()
	s, err := script.Run(ctx, g.c.rdb, []string{sum.tag().generationKey()}, g.c.cfg.Keep.Milliseconds()).Text()
	if g.c.failed(err) {
		return 0, err
	}
	gen, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	g.remember(sum, gen, taken)
	return gen, nil
}

// Bump moves the user to a new generation, in Redis and so on every
// replica, and returns it. While Redis is away the purge is in force here
// at once and is written to Redis when it answers again.
func (g *Generations) Bump(user string) uint64 {
	sum := sumOf(user)
	if g.c.Up() {
		ctx, cancel := g.c.ctx(context.Background())
		defer cancel()
		if gen, err := g.bump(ctx, sum); err == nil {
			return gen
		}
	}
	return g.bumpHere(sum)
}

// bump moves the user's record in Redis; the new generation supersedes a
// purge kept from an outage.
func (g *Generations) bump(ctx context.Context, sum userSum) (uint64, error) {
	gen, err := g.run(ctx, bumpGeneration, sum)
	if err != nil {
		return 0, err
	}
	g.mu.Lock()
	delete(g.pending, sum)
	g.mu.Unlock()
	g.announce(ctx, sum.tag())
	return gen, nil
}

// announce tells the other replicas to drop their lease on the user. A
// lost message only delays them to the end of their lease.
func (g *Generations) announce(ctx context.Context, tag userTag) {
	g.c.failed(g.c.rdb.Publish(ctx, fanoutChannel, string(tag)).Err())
}

func (g *Generations) bumpHere(sum userSum) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	prev := g.pending[sum]
	if l, ok := g.leases[sum]; ok {
		prev = max(prev, l.gen)
	}
	delete(g.leases, sum)
	if len(g.pending) >= maxPending {
		// No room to remember the purge for Redis: keep it in force here
		// by moving every user this replica holds no record of.
		g.outage = g.next(g.outage)
		g.c.log.Warn("too many purges while redis is away; this one will not reach other replicas")
		return g.outage
	}
	gen := g.next(prev)
	g.pending[sum] = gen
	return gen
}

// remember records a lease, keeping the higher generation: generations
// only grow, so a lower one is an older read that lost a race.
func (g *Generations) remember(sum userSum, gen uint64, taken time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l, ok := g.leases[sum]; ok && l.gen > gen {
		return
	}
	if len(g.leases) >= maxLeases {
		g.sweep(taken)
	}
	g.leases[sum] = lease{gen: gen, taken: taken}
}

// sweep drops leases that ran out, or any when none did.
func (g *Generations) sweep(now time.Time) {
	for sum, l := range g.leases {
		if now.Sub(l.taken) >= Lease {
			delete(g.leases, sum)
		}
	}
	for sum := range g.leases {
		if len(g.leases) < maxLeases*3/4 {
			break
		}
		delete(g.leases, sum)
	}
}

// next returns a generation above prev and above any made here before.
func (g *Generations) next(prev uint64) uint64 {
	n := max(prev+1, g.last+1, uint64(time.Now().UnixMicro()))
	g.last = n
	return n
}

func (g *Generations) forget(sum userSum) {
	g.mu.Lock()
	delete(g.leases, sum)
	g.mu.Unlock()
}

// forgetAll drops every lease: used when messages may have been missed.
func (g *Generations) forgetAll() {
	g.mu.Lock()
	clear(g.leases)
	g.mu.Unlock()
}

func (g *Generations) wentDown() {
	g.mu.Lock()
	g.outage = g.next(g.outage)
	g.mu.Unlock()
}

// replay writes the purges taken while Redis was away, in pipelines.
func (g *Generations) replay() {
	for {
		g.mu.Lock()
		batch := make([]userSum, 0, min(len(g.pending), replayBatch))
		for sum := range g.pending {
			if len(batch) == replayBatch {
				break
			}
			batch = append(batch, sum)
		}
		g.mu.Unlock()
		if len(batch) == 0 || !g.c.Up() {
			return
		}
		ctx, cancel := g.c.ctx(context.Background())
		pipe := g.c.rdb.Pipeline()
		for _, sum := range batch {
			tag := sum.tag()
			bumpGeneration.Eval(ctx, pipe, []string{tag.generationKey()}, g.c.cfg.Keep.Milliseconds())
			pipe.Publish(ctx, fanoutChannel, string(tag))
		}
		_, err := pipe.Exec(ctx)
		cancel()
		if g.c.failed(err) {
			return
		}
		g.mu.Lock()
		for _, sum := range batch {
			delete(g.pending, sum)
			delete(g.leases, sum)
		}
		g.mu.Unlock()
		g.c.log.Info("purges taken while redis was away written to it", "users", len(batch))
	}
}

// listen drops leases as fan-out messages arrive, and all of them when the
// subscription was re-established, since messages may have been missed.
func (g *Generations) listen() {
	defer close(g.done)
	ch := g.pubsub.ChannelWithSubscriptions(
		redis.WithChannelSize(4096),
		redis.WithChannelHealthCheckInterval(checkEvery),
		redis.WithChannelPingTimeout(4*g.c.cfg.Timeout),
		redis.WithChannelReconnectTimeout(4*g.c.cfg.Timeout),
	)
	for msg := range ch {
		switch m := msg.(type) {
		case *redis.Subscription:
			g.forgetAll()
			g.subscribed.Add(1)
		case *redis.Message:
			// Anything but a tag is not meant for this channel.
			if sum, ok := sumOfTag(m.Payload); ok {
				g.forget(sum)
			}
		}
	}
}

// Close stops listening for fan-out messages.
func (g *Generations) Close() {
	g.pubsub.Close()
	<-g.done
}
