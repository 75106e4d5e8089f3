package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// drive runs the load and the progress reports, prints the summary and
// returns what went wrong.
func drive(o options, px *proxy, st *stats, drip *drippers, out io.Writer) []string {
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	go func() {
		// A dead proxy ends the run at once.
		select {
		case <-px.Done():
			cancel()
		case <-ctx.Done():
		}
	}()

	transport := &http.Transport{
		MaxIdleConnsPerHost: o.concurrency,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport: transport,
		Timeout:   requestTimeout,
		// No face of the proxy redirects: show it if one does.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// An ops client of its own, so that scrapes never wait behind the load.
	ops := &http.Client{Timeout: 10 * time.Second}

	// The loops stop at the deadline; the count is a backstop far above any
	// rate a two-core machine reaches.
	budget := int64(o.duration.Seconds()*5000) + 1000
	var started atomic.Int64
	var wg sync.WaitGroup
	for w := range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for ctx.Err() == nil && started.Add(1) <= budget {
				if wait := exchange(client, px.base, rng, st); wait > 0 {
					// Back off as a well-behaved client does on 503, with
					// jitter, so that the queue stays full without the
					// load turning into nothing but refusals.
					select {
					case <-ctx.Done():
					case <-time.After(rand.N(wait)):
					}
				}
			}
		}()
	}
	loadDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(loadDone)
	}()

	start := time.Now()
	var peakRSS int64
	sample := time.NewTicker(time.Second)
	defer sample.Stop()
	nextReport := start.Add(reportEvery)
	for running := true; running; {
		select {
		case <-loadDone:
			running = false
		case <-sample.C:
		}
		if rss, err := px.rss(); err == nil {
			peakRSS = max(peakRSS, rss)
		}
		if now := time.Now(); running && !now.Before(nextReport) {
			nextReport = nextReport.Add(reportEvery)
			m := px.scrape(ops)
			rss, _ := px.rss()
			fmt.Fprintf(out, "%5.0fs %s %s rss=%s goroutines=%s vips=%s\n",
				now.Sub(start).Seconds(), st.line(), drip.line(), mib(rss), m.get("go_goroutines"), mibf(m.get("avatarproxy_vips_memory_bytes")))
		}
	}
	elapsed := time.Since(start)

	var failures []string
	finalRSS, rssErr := px.rss()
	m := px.scrape(ops)
	if px.Exited() {
		failures = append(failures, "the proxy process died: "+px.State().String())
	}
	if rssErr == nil && finalRSS > maxRSS {
		failures = append(failures, fmt.Sprintf("the proxy's RSS is %s at the end, above %s", mib(finalRSS), mib(maxRSS)))
	}
	peakRSS = max(peakRSS, finalRSS)
	failures = append(failures, st.failures()...)

	st.summary(out, elapsed)
	fmt.Fprintf(out, "  rss: peak %s, final %s; final go_goroutines %s, avatarproxy_vips_memory_bytes %s, cache evictions %s\n",
		mib(peakRSS), mib(finalRSS), m.get("go_goroutines"), mibf(m.get("avatarproxy_vips_memory_bytes")), m.get("avatarproxy_cache_evictions_total"))
	return failures
}
