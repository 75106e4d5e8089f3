package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/expfmt"
)

// mixRequest is one request of the realistic mix.
type mixRequest struct {
	user   string
	edge   int // size x dpr
	accept string
}

// mixList draws the realistic mix: Zipf-distributed users (a few are on
// every page, most are seen rarely), 4 sizes x 2 densities, and the Accept
// headers of browsers that take AVIF, WebP only, or neither.
func mixList(o options, prefix string) []mixRequest {
	r := rand.New(rand.NewPCG(uint64(o.seed), 2))
	zipf := rand.NewZipf(r, 1.1, 1, uint64(o.users-1))
	sizes := []int{20, 40, 80, 256}
	list := make([]mixRequest, o.mixRequests)
	for i := range list {
		accept := acceptAVIF
		switch p := r.IntN(10); {
		case p >= 9:
			accept = "*/*"
		case p >= 6:
			accept = acceptWebP
		}
		list[i] = mixRequest{
			user:   prefix + userID(int(zipf.Uint64())),
			edge:   sizes[r.IntN(len(sizes))] * (1 + r.IntN(2)),
			accept: accept,
		}
	}
	return list
}

// drive sends every request of list with conns workers and returns the
// throughput and how many answers were not 200.
func drive(list []mixRequest, conns int, url func(mixRequest) string) (rps float64, failed int64, err error) {
	var (
		next, bad atomic.Int64
		wg        sync.WaitGroup
		errOnce   sync.Once
	)
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(list)) {
					return
				}
				status, _, e := get(url(list[i]), list[i].accept)
				if e != nil {
					errOnce.Do(func() { err = e })
					return
				}
				if status != http.StatusOK {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(len(list)) / time.Since(start).Seconds(), bad.Load(), err
}

func benchMix(o options, e *env, set *imageSet, t *table) error {
	const conns = 16
	for i := range o.users {
		if err := set.link("m"+userID(i), set.images[i%len(set.images)]); err != nil {
			return err
		}
	}
	list := mixList(o, "m")
	if err := e.restartProxy(); err != nil {
		return err
	}
	before := e.originFetches("proxy")
	rps, failed, err := drive(list, conns, func(m mixRequest) string {
		return "http://" + e.proxy.addr + fmt.Sprintf("/avatar/o/%s?size=%d", m.user, m.edge)
	})
	if err != nil {
		return fmt.Errorf("mix through avatarproxy: %w", err)
	}
	fetches := float64(e.originFetches("proxy")-before) * 1000 / float64(len(list))
	resizes, err := e.proxyResizes()
	if err != nil {
		return err
	}
	resizes = resizes * 1000 / float64(len(list))
	rss := float64(e.proxy.rss()) / (1 << 20)
	if failed > 0 {
		fmt.Printf("mix: avatarproxy answered %d requests with a status other than 200\n", failed)
	}
	what := fmt.Sprintf("realistic mix, %d requests, %d connections", len(list), conns)
	if e.imgproxy == nil {
		t.add(what, "req/s", rps, "", 0, true)
		t.add("origin fetches per 1k requests", "", fetches, "", 0, false)
		t.add("resizes per 1k requests", "", resizes, "", 0, false)
		t.add("RSS after the mix (cache.max_bytes 256 MiB)", "MiB", rss, "", 0, false)
		return nil
	}
	before = e.originFetches("imgproxy")
	refRPS, refFailed, err := drive(list, conns, func(m mixRequest) string {
		return "http://" + e.cacheAddr + e.imgproxyPath(m.user, m.edge, "")
	})
	if err != nil {
		return fmt.Errorf("mix through imgproxy: %w", err)
	}
	if refFailed > 0 {
		fmt.Printf("mix: nginx -> imgproxy answered %d requests with a status other than 200\n", refFailed)
	}
	refFetches := float64(e.originFetches("imgproxy")-before) * 1000 / float64(len(list))
	refRSS := float64(e.imgproxy.rss()+e.nginx.rss()) / (1 << 20)
	t.add(what, "req/s", rps, "nginx cache -> imgproxy", refRPS, true)
	t.add("origin fetches per 1k requests", "", fetches, "nginx cache -> imgproxy", refFetches, false)
	// imgproxy fetches its source for every image it makes.
	t.add("resizes per 1k requests", "", resizes, "nginx cache -> imgproxy", refFetches, false)
	t.add("RSS after the mix (cache.max_bytes 256 MiB)", "MiB", rss, "imgproxy + nginx", refRSS, false)
	return nil
}

// proxyResizes is the number of resizes the proxy has made since it
// started, from its metrics.
func (e *env) proxyResizes() (float64, error) {
	status, body, err := get("http://"+e.proxy.addr+"/metrics", "")
	if err != nil || status != http.StatusOK {
		return 0, fmt.Errorf("proxy metrics: %d %v", status, err)
	}
	return histogramCount(body, "avatarproxy_resize_duration_seconds")
}

// histogramCount adds up a histogram's observations over its label sets,
// from Prometheus' text format.
func histogramCount(text []byte, name string) (float64, error) {
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return 0, fmt.Errorf("proxy metrics: %w", err)
	}
	var total uint64
	for _, m := range families[name].GetMetric() {
		total += m.GetHistogram().GetSampleCount()
	}
	return float64(total), nil
}

// peakRSS samples a server's RSS every few milliseconds while work runs.
func peakRSS(s *server, work func()) int64 {
	done := make(chan struct{})
	var peak atomic.Int64
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if r := s.rss(); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	work()
	close(done)
	return peak.Load()
}

// burst asks for n URLs at once and counts the answers by status.
func burst(n int, url func(int) string) map[int]int {
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		statuses = map[int]int{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, err := get(url(i), acceptWebP)
			if err != nil {
				status = -1
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return statuses
}

func benchBurst(o options, e *env, set *imageSet, t *table) error {
	if err := e.restartProxy(); err != nil {
		return err
	}
	var statuses map[int]int
	peak := peakRSS(e.proxy, func() {
		statuses = burst(burstImages, func(i int) string {
			return "http://" + e.proxy.addr + proxyPath(fmt.Sprintf("big%02d", i), 256, "")
		})
	})
	what := fmt.Sprintf("burst of %d cold 3072 px sources", burstImages)
	fmt.Printf("%s: avatarproxy statuses %v\n", what, statuses)
	if e.imgproxy == nil {
		t.add(what+", peak RSS", "MiB", float64(peak)/(1<<20), "", 0, false)
		t.add(what+", 503s", "", float64(statuses[http.StatusServiceUnavailable]), "", 0, false)
		return nil
	}
	var refStatuses map[int]int
	refPeak := peakRSS(e.imgproxy, func() {
		refStatuses = burst(burstImages, func(i int) string {
			return "http://" + e.imgproxy.addr + e.imgproxyPath(fmt.Sprintf("big%02d", i), 256, "")
		})
	})
	fmt.Printf("%s: imgproxy statuses %v\n", what, refStatuses)
	t.add(what+", peak RSS", "MiB", float64(peak)/(1<<20), "imgproxy", float64(refPeak)/(1<<20), false)
	t.add(what+", 503s", "", float64(statuses[http.StatusServiceUnavailable]), "imgproxy", float64(refStatuses[http.StatusServiceUnavailable]), false)
	return nil
}

// benchHerd sends 200 concurrent requests for one cold avatar and counts
// the origin fetches each system made for them.
func benchHerd(e *env, set *imageSet, t *table) error {
	const herd = 200
	if err := set.link("herd", set.images[0]); err != nil {
		return err
	}
	before := e.originFetches("proxy")
	burst(herd, func(int) string { return "http://" + e.proxy.addr + proxyPath("herd", 96, "") })
	fetches := float64(e.originFetches("proxy") - before)
	what := fmt.Sprintf("herd of %d on one cold avatar, origin fetches", herd)
	if e.imgproxy == nil {
		t.add(what, "", fetches, "", 0, false)
		return nil
	}
	before = e.originFetches("imgproxy")
	burst(herd, func(int) string { return "http://" + e.cacheAddr + e.imgproxyPath("herd", 96, "") })
	t.add(what, "", fetches, "nginx cache (lock) -> imgproxy", float64(e.originFetches("imgproxy")-before), false)
	return nil
}
