// Command avatarproxy-soak runs avatarproxy under mixed load, in front of
// an origin that misbehaves in every way an avatar origin can, and fails
// when the proxy does not hold up.
//
//	go run ./cmd/avatarproxy-soak -duration 60s [-binary path] [-concurrency 16]
//
// It builds the proxy (unless -binary names one), starts the fault-injecting
// origin in-process and the proxy as a subprocess, both on 127.0.0.1, and
// drives avatar, HEAD, conditional, purge and malformed requests at the
// proxy for the duration, with slow-drip clients on the webhook and
// pass-through faces that the proxy must cut within its body timeouts. Every 5 seconds it prints one line of progress;
// at the end a summary. It exits 1 when the proxy process died, answered a
// 500, left a request without a response, broke the contract on a request
// (an image of the wrong size, a bad parameter not refused with 400, ...),
// ended above 1 GiB of resident memory, or did not exit 0 on SIGTERM.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/process"
)

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long to drive load")
	flag.StringVar(&o.binary, "binary", "", "avatarproxy binary to run; empty: build ./cmd/avatarproxy")
	flag.IntVar(&o.concurrency, "concurrency", 16, "requests in flight at once")
	flag.Parse()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "soak failed:", err)
		os.Exit(1)
	}
}

type options struct {
	duration    time.Duration
	binary      string
	concurrency int
}

// Limits the run is judged by.
const (
	maxRSS         = 1 << 30          // resident memory of the proxy at the end
	requestTimeout = 60 * time.Second // a request slower than this got no response
	startTimeout   = 60 * time.Second // from start to answering /healthz
	stopTimeout    = 60 * time.Second // from SIGTERM to exit
	reportEvery    = 5 * time.Second
	purgeToken     = "soak-purge-token"
	maxSize        = 1024 // resize.max_size of the configuration below
	defaultSize    = 80
)

// run performs the whole soak and reports to out; a non-nil error means
// it failed.
func run(o options, out io.Writer) error {
	if o.duration <= 0 || o.concurrency <= 0 {
		return errors.New("-duration and -concurrency must be positive")
	}
	dir, err := os.MkdirTemp("", "avatarproxy-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	bin := o.binary
	if bin == "" {
		bin = filepath.Join(dir, "avatarproxy")
		fmt.Fprintln(out, "building avatarproxy")
		if err := process.Build(bin); err != nil {
			return err
		}
	}

	org, err := startOrigin()
	if err != nil {
		return err
	}
	defer org.Close()

	px, err := startProxy(bin, dir, org.addr)
	if err != nil {
		return err
	}
	defer px.Kill()

	fmt.Fprintf(out, "soaking %s at %s for %s, %d requests at a time\n", bin, px.base, o.duration, o.concurrency)
	st := newStats()
	// The drippers stay connected through SIGTERM: draining must not wait
	// on them.
	drip := startDrippers(strings.TrimPrefix(px.base, "http://"))
	failures := drive(o, px, st, drip, out)

	// Stop the proxy as an orchestrator would.
	exit := "exited 0"
	if !px.Exited() {
		px.Cmd.Process.Signal(syscall.SIGTERM)
		state, stopped := px.Wait(stopTimeout)
		switch {
		case !stopped:
			exit = "still running"
			failures = append(failures, fmt.Sprintf("the proxy still ran %s after SIGTERM", stopTimeout))
		case state.ExitCode() != 0:
			exit = state.String()
			failures = append(failures, fmt.Sprintf("the proxy %s after SIGTERM, want status 0", exit))
		}
	} else {
		exit = "died during the run: " + px.State().String()
	}
	drip.Stop()
	failures = append(failures, drip.failures()...)
	fmt.Fprintf(out, "  proxy: %s; slow-drip clients: %s\n", exit, drip.line())

	if len(failures) > 0 {
		fmt.Fprintf(out, "last lines of the proxy's log:\n%s", px.Output.Tail(30))
		return errors.New(strings.Join(failures, "; "))
	}
	fmt.Fprintln(out, "soak passed")
	return nil
}
