package rediscache

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
	"github.com/avatarproxy/avatarproxy/metrics"
)

const keep = time.Hour

// redisServer is a redis-server on a fixed loopback address that a test
// may kill and start again on the same address.
type redisServer struct {
	t    *testing.T
	addr string
	proc *testproc.Process
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	p, addr := testproc.Redis(t)
	return &redisServer{t: t, addr: addr, proc: p}
}

func (r *redisServer) url() string { return "redis://" + r.addr }

func (r *redisServer) kill() { r.proc.Kill() }

// restart starts an empty redis-server on the same address.
func (r *redisServer) restart() {
	r.t.Helper()
	r.proc = testproc.RedisOn(r.t, r.addr)
}

// startCluster starts a three-master Redis Cluster on loopback and returns
// a cluster URL naming every node.
func startCluster(t *testing.T) string {
	t.Helper()
	bin := testproc.Need(t, "redis-server")
	var addrs []string
	for range 3 {
		addr := testproc.FreeAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		dir := t.TempDir()
		p := testproc.Start(t, exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", dir, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "2000"))
		p.WaitTCP(addr)
		addrs = append(addrs, addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(testproc.Need(t, "redis-cli"), args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		eventually(t, testproc.MustNotHang, "cluster_state:ok on "+addr, func() bool {
			info, err := c.ClusterInfo(context.Background()).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
		c.Close()
	}
	u := "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
	return u
}

// replica is what one avatarproxy process holds of the shared tier.
type replica struct {
	client  *Client
	store   *Store
	gens    *Generations
	metrics *metrics.Metrics
}

func openReplica(t *testing.T, url string, cluster bool, mutate ...func(*Config)) *replica {
	t.Helper()
	// Generous for a loaded test machine: only the test of a slow Redis
	// is about timeouts, and it sets its own.
	cfg := Config{URL: url, Cluster: cluster, Keep: keep, Metrics: metrics.New(), Timeout: time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := Connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	r := &replica{client: s.Client, store: s.Store, gens: s.Generations, metrics: cfg.Metrics}
	waitUp(t, r)
	return r
}

// waitUp waits until the replica is connected and subscribed: the first
// subscription drops every lease, as every later one does.
func waitUp(t *testing.T, r *replica) {
	t.Helper()
	eventually(t, testproc.MustNotHang, "redis connected", r.client.Up)
	eventually(t, testproc.MustNotHang, "fan-out subscribed", func() bool { return r.gens.subscribed.Load() > 0 })
}

// eventually polls cond every millisecond until it holds, failing the test
// after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// rawClient is a plain client for inspecting what the tier wrote.
func rawClient(t *testing.T, url string, cluster bool) redis.UniversalClient {
	t.Helper()
	var c redis.UniversalClient
	if cluster {
		opt, err := redis.ParseClusterURL(url)
		if err != nil {
			t.Fatal(err)
		}
		c = redis.NewClusterClient(opt)
	} else {
		opt, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		c = redis.NewClient(opt)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func redisHits(m *metrics.Metrics) float64 {
	return testutil.ToFloat64(m.CacheHits.WithLabelValues(metrics.TierRedis))
}

func redisMisses(m *metrics.Metrics) float64 {
	return testutil.ToFloat64(m.CacheMisses.WithLabelValues(metrics.TierRedis))
}

func gauge(m *metrics.Metrics, name string) float64 {
	mf, err := m.Registry.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range mf {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	panic(fmt.Sprintf("no metric %s", name))
}
