package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

const (
	acceptAVIF = "image/avif,image/webp,image/apng,*/*;q=0.8"
	acceptWebP = "image/webp,*/*"
)

var client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// get fetches url with an optional Accept header and returns status and body.
func get(url, accept string) (int, []byte, error) {
	resp, body, err := getResponse(url, accept)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// getResponse fetches url with an optional Accept header and returns the
// response, its body read and closed.
func getResponse(url, accept string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func proxyPath(user string, size int, format string) string {
	p := fmt.Sprintf("/avatar/o/%s?size=%d", user, size)
	if format != "" {
		p += "&format=" + format
	}
	return p
}

// imgproxyPath is the imgproxy URL of the same square: fill, enlarge,
// centre gravity; ext "" lets imgproxy pick the format from Accept.
func (e *env) imgproxyPath(user string, edge int, ext string) string {
	p := fmt.Sprintf("/unsafe/rs:fill:%d:%d:1/g:ce/plain/http://%s/%s", edge, edge, e.originImg, user)
	if ext != "" {
		p += "@" + ext
	}
	return p
}

// hitCase is one hot-hit figure: the same bytes asked of each system.
type hitCase struct {
	what   string
	conns  int
	accept string
	proxy  []string // paths on the proxy
	static []string // paths on the static nginx; nil: no static reference
	bare   []string // paths on the net/http floor, with static
	cache  []string // paths on nginx proxy_cache -> imgproxy
}

func benchHits(o options, e *env, set *imageSet, t *table) error {
	user := userID(0)
	hitJPEG, hitAVIF, hitLarge := proxyPath(user, 80, "jpeg"), proxyPath(user, 80, ""), proxyPath(user, 256, "jpeg")
	// The static reference serves avatarproxy's own hit bytes, and the
	// floor serves them with the proxy's headers, at /0, /1 and /2.
	var captured []bareResponse
	for i, f := range []struct{ file, path, accept string }{
		{"hit.jpg", hitJPEG, ""},
		{"hit.avif", hitAVIF, acceptAVIF},
		{"hit256.jpg", hitLarge, ""},
	} {
		url := "http://" + e.proxy.addr + f.path
		if _, _, err := get(url, f.accept); err != nil { // the miss that caches it
			return err
		}
		resp, body, err := getResponse(url, f.accept)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("warming %s: status %d", f.path, resp.StatusCode)
		}
		if err := os.WriteFile(filepath.Join(e.dir, "static", f.file), body, 0o644); err != nil {
			return err
		}
		header := resp.Header.Clone()
		header.Del("Date") // net/http writes its own
		captured = append(captured, bareResponse{Path: fmt.Sprintf("/%d", i), Header: header, Body: body})
	}
	largeBytes := len(captured[2].Body)
	bare, err := e.startBare(captured)
	if err != nil {
		return err
	}
	defer bare.kill()
	var many, manyCache []string
	sizes := []int{20, 40, 80, 256}
	for i := range o.users {
		for _, s := range sizes {
			many = append(many, proxyPath(userID(i), s, "jpeg"))
			manyCache = append(manyCache, e.imgproxyPath(userID(i), s, "jpg"))
		}
	}
	r := rand.New(rand.NewPCG(uint64(o.seed), 1))
	r.Shuffle(len(many), func(i, j int) {
		many[i], many[j] = many[j], many[i]
		manyCache[i], manyCache[j] = manyCache[j], manyCache[i]
	})
	cases := []hitCase{
		{what: "hot hit, 80 px JPEG, 64 connections", conns: 64,
			proxy: []string{hitJPEG}, static: []string{"/hit.jpg"}, bare: []string{"/0"}, cache: []string{e.imgproxyPath(user, 80, "jpg")}},
		{what: "hot hit, 80 px JPEG, 8 connections", conns: 8,
			proxy: []string{hitJPEG}, static: []string{"/hit.jpg"}, bare: []string{"/0"}, cache: []string{e.imgproxyPath(user, 80, "jpg")}},
		{what: "hot hit, AVIF by Accept, 8 connections", conns: 8, accept: acceptAVIF,
			proxy: []string{hitAVIF}, static: []string{"/hit.avif"}, bare: []string{"/1"}, cache: []string{e.imgproxyPath(user, 80, "")}},
		// Past net/http's 4 KiB connection buffer with its headers.
		{what: fmt.Sprintf("hot hit, 256 px JPEG (%.1f KB), 8 connections", float64(largeBytes)/1000), conns: 8,
			proxy: []string{hitLarge}, static: []string{"/hit256.jpg"}, bare: []string{"/2"}, cache: []string{e.imgproxyPath(user, 256, "jpg")}},
		{what: fmt.Sprintf("hot hits, %d users x 4 sizes, 8 connections", o.users), conns: 8,
			proxy: many, cache: manyCache},
	}
	for _, c := range cases {
		if err := warm(e.proxy.addr, c.proxy, c.accept); err != nil {
			return err
		}
		if e.imgproxy != nil {
			if err := warm(e.cacheAddr, c.cache, c.accept); err != nil {
				return err
			}
		}
		var proxy, static, bareRef, cache samples
		// measure is one system's wrk run of the round; none when it has
		// no paths for the case.
		measure := func(addr string, paths []string, header string, into *samples) func() error {
			return func() error {
				if paths == nil {
					return nil
				}
				res, err := e.runWrk(addr, paths, c.conns, header)
				into.rps, into.p99 = append(into.rps, res.rps), append(into.p99, ms(res.p99))
				return err
			}
		}
		if e.imgproxy == nil {
			c.cache = nil
		}
		for round := range o.rounds {
			// Interleave, and alternate who goes first.
			runs := []func() error{
				measure(e.proxy.addr, c.proxy, acceptHeader(c.accept), &proxy),
				measure(e.staticAddr, c.static, "", &static),
				measure(bare.addr, c.bare, "", &bareRef),
				measure(e.cacheAddr, c.cache, acceptHeader(c.accept), &cache),
			}
			for i := range runs {
				if err := runs[(i+round)%len(runs)](); err != nil {
					return fmt.Errorf("%s: %w", c.what, err)
				}
			}
		}
		if c.static != nil {
			t.add(c.what, "req/s", median(proxy.rps), "nginx static", median(static.rps), true)
			t.add(c.what+", p99", "ms", median(proxy.p99), "nginx static", median(static.p99), false)
			t.add(c.what, "req/s", median(proxy.rps), "bare net/http", median(bareRef.rps), true)
			t.add(c.what+", p99", "ms", median(proxy.p99), "bare net/http", median(bareRef.p99), false)
		}
		if e.imgproxy != nil {
			t.add(c.what, "req/s", median(proxy.rps), "nginx cache -> imgproxy", median(cache.rps), true)
		} else if c.static == nil {
			t.add(c.what, "req/s", median(proxy.rps), "", 0, true)
		}
	}
	return nil
}

// samples are one system's figures over the rounds of a case.
type samples struct{ rps, p99 []float64 }

func acceptHeader(accept string) string {
	if accept == "" {
		return ""
	}
	return "Accept: " + accept
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// warm asks for every path once (twice for the first, so caches that
// admit on the second sight hold it), four at a time.
func warm(addr string, paths []string, accept string) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	work := make(chan string)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				status, _, err := get("http://"+addr+p, accept)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("%s answered %d", p, status)
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	work <- paths[0]
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	return firstErr
}
