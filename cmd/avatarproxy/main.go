// Command avatarproxy runs the caching avatar reverse proxy.
//
//	avatarproxy [-config FILE]          serve (the embedded default without -config)
//	avatarproxy -check-config -config FILE
//	avatarproxy -healthcheck [-config FILE]   GET the /healthz of the proxy that FILE configures
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"golang.org/x/net/netutil"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/metrics"
	"github.com/avatarproxy/avatarproxy/onewrite"
	"github.com/avatarproxy/avatarproxy/proxy"
	"github.com/avatarproxy/avatarproxy/rediscache"
	"github.com/avatarproxy/avatarproxy/resize"
	"github.com/avatarproxy/avatarproxy/upstream"
)

//go:embed default.yaml
var defaultConfig []byte

func main() {
	os.Exit(run(os.Args[1:], os.Environ()))
}

func run(args, environ []string) int {
	fs := flag.NewFlagSet("avatarproxy", flag.ContinueOnError)
	path := fs.String("config", "", "configuration file (YAML); without it, the embedded default")
	check := fs.Bool("check-config", false, "validate the configuration and exit")
	health := fs.Bool("healthcheck", false, "exit 0 if the proxy listening where the configuration says answers /healthz, else 1")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var (
		cfg *config.Config
		err error
	)
	if *path == "" {
		cfg, err = config.Parse(defaultConfig, environ, upstream.Kinds())
	} else {
		cfg, err = config.Load(*path, environ, upstream.Kinds())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *health {
		if err := healthcheck(cfg.Listen); err != nil {
			fmt.Fprintln(os.Stderr, "healthcheck:", err)
			return 1
		}
		return 0
	}
	if *check {
		fmt.Println("configuration ok")
		return 0
	}
	log := newLogger(cfg.Log, os.Stderr)
	rediscache.RouteClientLogs(log)
	if err := serve(cfg, log); err != nil {
		log.Error("avatarproxy stopped", "err", err)
		return 1
	}
	return 0
}

// memoryHeadroom is what the Go heap may hold beyond the cache: requests in
// flight, originals being fetched, collection garbage.
const memoryHeadroom = 144 << 20

// limitMemory gives the Go runtime a soft memory limit of the cache plus
// headroom, unless GOMEMLIMIT sets one. Without it the heap grows to twice
// what is live, and the cache is most of what is live.
func limitMemory(cfg *config.Config, log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := int64(cfg.Cache.MaxBytes) + memoryHeadroom
	debug.SetMemoryLimit(limit)
	log.Info("Go memory limit set", "bytes", limit)
}

// newLogger builds the process's logger from log.format and log.level,
// which validation has checked. Access lines are at info: level warn or
// error turns them off.
func newLogger(c config.Log, out io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(out, opts))
	}
	return slog.New(slog.NewJSONHandler(out, opts))
}

func serve(cfg *config.Config, log *slog.Logger) error {
	limitMemory(cfg, log)
	resize.Startup()
	defer resize.Shutdown()

	m := metrics.New()
	// libvips frees a resize's pixel buffers when it ends, so the current
	// figure is 0 between resizes; the high-water mark shows the peak.
	m.GaugeFunc("avatarproxy_vips_memory_bytes", "Bytes libvips has allocated for pixels now (its tracked allocations).", nil,
		func() float64 { return float64(resize.VipsMemory()) })
	m.GaugeFunc("avatarproxy_vips_memory_highwater_bytes", "The most bytes libvips has had allocated for pixels at once since the process started.", nil,
		func() float64 { return float64(resize.VipsMemoryHighwater()) })
	srv, err := proxy.New(cfg, proxy.Options{Logger: log, Metrics: m})
	if err != nil {
		return err
	}
	defer srv.Close()

	servers := []*http.Server{newHTTPServer(cfg.Listen, srv.Handler(cfg.MetricsListen == ""), log)}
	if cfg.MetricsListen != "" {
		servers = append(servers, newHTTPServer(cfg.MetricsListen, srv.MetricsHandler(), log))
	}
	errc := make(chan error, len(servers))
	for _, hs := range servers {
		ln, err := net.Listen("tcp", hs.Addr)
		if err != nil {
			return err
		}
		log.Info("listening", "addr", ln.Addr().String(), "max_connections", cfg.MaxConnections)
		// Beyond the cap, connections wait in the kernel's backlog rather
		// than each holding a goroutine and buffers here.
		go func() { errc <- hs.Serve(onewrite.Listener(netutil.LimitListener(ln, cfg.MaxConnections))) }()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "delay", cfg.ShutdownDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	srv.Drain()
	time.Sleep(cfg.ShutdownDelay.D())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout.D())
	defer cancel()
	var firstErr error
	for _, hs := range servers {
		if err := hs.Shutdown(shutdownCtx); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("draining %s: %w", hs.Addr, err)
		}
	}
	for range servers {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// newHTTPServer bounds what a client may hold: headers are read within
// ReadHeaderTimeout, and request bodies within the proxy's body_timeout
// or passthrough_body_timeout, set per request by its handler. There is no
// whole-request ReadTimeout, which would also cut long pass-through
// downloads and cancel avatar requests still waiting on their upstream.
func newHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Lets a large avatar leave with its headers in one write.
		ConnContext: onewrite.ConnContext,
	}
}
