package rediscache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/avatarproxy/avatarproxy/metrics"
)

// Config says how to reach Redis and how to use it.
type Config struct {
	// URL is redis://, rediss:// or unix:// for one node. With Cluster, it
	// is a redis:// or rediss:// URL of one seed node, the others added as
	// addr query parameters: redis://:pw@10.0.0.1:6379?addr=10.0.0.2:6379.
	URL     string
	Cluster bool
	// Timeout bounds every command on the serving path (dialling too).
	Timeout time.Duration
	// MaxValueBytes: encoded entries above it are not stored in Redis.
	MaxValueBytes int
	// Keep is how long a generation record outlives its last change; it
	// must be at least the longest lifetime of any cache entry.
	Keep    time.Duration
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

// DefaultTimeout and DefaultMaxValueBytes apply when the Config leaves
// them zero.
const (
	DefaultTimeout       = 50 * time.Millisecond
	DefaultMaxValueBytes = 1 << 20
)

const (
	// probeEvery is how often a lost connection is retried; it also
	// bounds how long an outage goes unnoticed when no request fails.
	probeEvery = 250 * time.Millisecond
	// checkEvery is how often a healthy connection is checked.
	checkEvery = time.Second
)

// Client is a connection to Redis (one node or a cluster) that knows
// whether Redis is reachable. While it is not, the serving path does not
// wait for it: every lookup is a miss and every write is skipped, and a
// background probe reconnects.
type Client struct {
	rdb     redis.UniversalClient
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Metrics

	up atomic.Bool
	// upMu orders the transitions with the work done on reconnecting.
	upMu      sync.Mutex
	onDown    []func()
	onUp      []func()
	onHealthy []func()
	wake      chan struct{}
	stop      chan struct{}
	stopOnce  sync.Once
	done      sync.WaitGroup
}

// Open builds a client for cfg. It does not fail when Redis is down: the
// client starts disconnected and connects as soon as Redis answers.
func Open(cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxValueBytes <= 0 {
		cfg.MaxValueBytes = DefaultMaxValueBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	rdb, err := newUniversalClient(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		rdb: rdb, cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics,
		wake: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	c.metrics.RedisConnected.Set(0)
	return c, nil
}

// Start checks the connection once, then keeps checking it in the
// background until Close. Register OnUp and OnDown work before.
func (c *Client) Start() {
	c.probe()
	if !c.up.Load() {
		c.log.Warn("redis not reachable; serving from memory only until it answers")
	}
	c.done.Add(1)
	go c.monitor()
}

func newUniversalClient(cfg Config) (redis.UniversalClient, error) {
	if cfg.Cluster {
		opt, err := redis.ParseClusterURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("cache.redis_url: %w", err)
		}
		bound(cfg.Timeout, &opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.PoolTimeout,
			&opt.MaxRetries, &opt.DialerRetries, &opt.ContextTimeoutEnabled, &opt.DisableIdentity, &opt.MaintNotificationsConfig)
		return redis.NewClusterClient(opt), nil
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("cache.redis_url: %w", err)
	}
	bound(cfg.Timeout, &opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.PoolTimeout,
		&opt.MaxRetries, &opt.DialerRetries, &opt.ContextTimeoutEnabled, &opt.DisableIdentity, &opt.MaintNotificationsConfig)
	return redis.NewClient(opt), nil
}

// bound sets the fields that redis.Options and redis.ClusterOptions share
// so that a slow Redis costs a request tens of milliseconds at most: no
// retries, short waits for a pooled connection, one dial attempt, no
// client identity or maintenance notifications to negotiate.
func bound(timeout time.Duration, dial, read, write, pool *time.Duration, retries, dialerRetries *int,
	contextTimeout, noIdentity *bool, notifications **maintnotifications.Config) {
	*dial, *read, *write, *pool = 4*timeout, timeout, timeout, timeout
	*retries, *dialerRetries = -1, 1
	*contextTimeout, *noIdentity = true, true
	*notifications = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// Up reports whether Redis is reachable now.
func (c *Client) Up() bool { return c.up.Load() }

// OnDown registers fn to run when the connection is found lost.
func (c *Client) OnDown(fn func()) { c.onDown = append(c.onDown, fn) }

// OnUp registers fn to run each time Redis answers after an outage (and
// when it first answers), before the serving path turns to Redis again.
func (c *Client) OnUp(fn func()) { c.onUp = append(c.onUp, fn) }

// OnHealthy registers fn to run after every probe that found Redis up.
func (c *Client) OnHealthy(fn func()) { c.onHealthy = append(c.onHealthy, fn) }

// ctx bounds one command on the serving path.
func (c *Client) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(parent), c.cfg.Timeout)
}

// failed classifies the error of a command: nil and redis.Nil (no such
// key) are answers. An error reply (out of memory under noeviction, a
// script refused) fails the command but says Redis is there. Anything
// else (timeouts, refused or broken connections) means Redis cannot be
// relied on now, and the client turns to memory-only service until a
// probe succeeds.
func (c *Client) failed(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		c.log.Debug("redis refused a command", "err", err)
		return true
	}
	c.markDown(err)
	return true
}

func (c *Client) markDown(err error) {
	c.upMu.Lock()
	defer c.upMu.Unlock()
	if !c.up.CompareAndSwap(true, false) {
		return
	}
	c.metrics.RedisConnected.Set(0)
	c.log.Warn("redis disconnected; serving from memory only", "err", err)
	for _, fn := range c.onDown {
		fn()
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// monitor probes Redis: often while it is lost, now and then while up.
func (c *Client) monitor() {
	defer c.done.Done()
	t := time.NewTimer(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		case <-t.C:
		}
		c.probe()
		if c.up.Load() {
			t.Reset(checkEvery)
		} else {
			t.Reset(probeEvery)
		}
	}
}

func (c *Client) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), 4*c.cfg.Timeout)
	defer cancel()
	if err := c.ping(ctx); err != nil {
		c.markDown(err)
		return
	}
	if !c.up.Load() {
		c.upMu.Lock()
		for _, fn := range c.onUp {
			fn()
		}
		c.up.Store(true)
		c.metrics.RedisConnected.Set(1)
		c.upMu.Unlock()
		c.log.Info("redis connected")
	}
	for _, fn := range c.onHealthy {
		fn()
	}
}

// ping checks every node the client needs: each master of a cluster.
func (c *Client) ping(ctx context.Context) error {
	if cc, ok := c.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.Ping(ctx).Err()
		})
	}
	return c.rdb.Ping(ctx).Err()
}

// Close stops the background work and closes the connections.
func (c *Client) Close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	c.done.Wait()
	return c.rdb.Close()
}

// RouteClientLogs sends the Redis client library's own log lines (dial
// failures while Redis is away, which would otherwise go to stderr in a
// format of their own) to log at debug level: the transitions that matter
// are logged by Client. The library's logger is process-wide, so only a
// command's main function should call this.
func RouteClientLogs(log *slog.Logger) { redis.SetLogger(clientLog{log}) }

type clientLog struct{ log *slog.Logger }

func (l clientLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}
