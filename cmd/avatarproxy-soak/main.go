// Command avatarproxy-soak runs avatarproxy under mixed load, in front of
// an origin that misbehaves in every way an avatar origin can, and fails
// when the proxy does not hold up.
//
//	go run ./cmd/avatarproxy-soak -duration 60s [-binary path] [-concurrency 16]
//
// It builds the proxy (unless -binary names one), starts the fault-injecting
// origin in-process and the proxy as a subprocess, both on 127.0.0.1, and
// drives avatar, HEAD, conditional, purge and malformed requests at the
// proxy for the duration. Every 5 seconds it prints one line of progress;
// at the end a summary. It exits 1 when the proxy process died, answered a
// 500, left a request without a response, broke the contract on a request
// (an image of the wrong size, a bad parameter not refused with 400, ...),
// ended above 1 GiB of resident memory, or did not exit 0 on SIGTERM.
package main

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
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
		build := exec.Command("go", "build", "-o", bin, "github.com/avatarproxy/avatarproxy/cmd/avatarproxy")
		if b, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, b)
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
	defer px.kill()

	fmt.Fprintf(out, "soaking %s at %s for %s, %d requests at a time\n", bin, px.base, o.duration, o.concurrency)
	st := newStats()
	failures := drive(o, px, st, out)

	// Stop the proxy as an orchestrator would.
	exit := "exited 0"
	if px.alive() {
		px.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-px.exited:
			if code := px.cmd.ProcessState.ExitCode(); code != 0 {
				exit = px.cmd.ProcessState.String()
				failures = append(failures, fmt.Sprintf("the proxy %s after SIGTERM, want status 0", exit))
			}
		case <-time.After(stopTimeout):
			exit = "still running"
			failures = append(failures, fmt.Sprintf("the proxy still ran %s after SIGTERM", stopTimeout))
		}
	} else {
		exit = "died during the run: " + px.cmd.ProcessState.String()
	}
	fmt.Fprintf(out, "  proxy: %s\n", exit)

	if len(failures) > 0 {
		fmt.Fprintf(out, "last lines of the proxy's log:\n%s", px.logTail(30))
		return errors.New(strings.Join(failures, "; "))
	}
	fmt.Fprintln(out, "soak passed")
	return nil
}

// drive runs the load and the progress reports, prints the summary and
// returns what went wrong.
func drive(o options, px *proxy, st *stats, out io.Writer) []string {
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	go func() {
		// A dead proxy ends the run at once.
		select {
		case <-px.exited:
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
			fmt.Fprintf(out, "%5.0fs %s rss=%s goroutines=%s vips=%s\n",
				now.Sub(start).Seconds(), st.line(), mib(rss), m.get("go_goroutines"), mibf(m.get("avatarproxy_vips_memory_bytes")))
		}
	}
	elapsed := time.Since(start)

	var failures []string
	finalRSS, rssErr := px.rss()
	m := px.scrape(ops)
	if !px.alive() {
		failures = append(failures, "the proxy process died: "+px.cmd.ProcessState.String())
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

// proxy is the avatarproxy process under test.
type proxy struct {
	cmd    *exec.Cmd
	base   string
	log    string        // file with its output
	exited chan struct{} // closed once it has exited
}

func startProxy(bin, dir, origin string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()

	// Two upstreams over one origin with different patience; a cache small
	// enough to evict; a resize pool small enough to fill.
	cfg := fmt.Sprintf(`listen: %q
shutdown_timeout: 30s
upstreams:
  - {name: quick, kind: http, url_template: "http://%s/a/{user_id}", timeout: 2s, header_timeout: 1s}
  - {name: patient, kind: http, url_template: "http://%s/a/{user_id}", timeout: 5s}
cache:
  max_bytes: 8MiB
  ttl: 20s
  negative_ttl: 5s
resize:
  default_size: %d
  max_size: %d
  formats: [webp, avif]
  workers: 2
  queue: 8
security:
  purge_token: %s
`, addr, origin, origin, defaultSize, maxSize, purgeToken)
	cfgPath := filepath.Join(dir, "avatarproxy.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "avatarproxy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor

	p := &proxy{base: "http://" + addr, log: logPath, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "-config", cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AVATARPROXY_") {
			env = append(env, kv)
		}
	}
	p.cmd.Env = env
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()

	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		if resp, err := client.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("avatarproxy exited at start (%v):\n%s", p.cmd.ProcessState, p.logTail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
	p.kill()
	return nil, fmt.Errorf("avatarproxy did not answer /healthz on %s:\n%s", addr, p.logTail(30))
}

func (p *proxy) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill ends the process if it still runs, and waits for it.
func (p *proxy) kill() {
	if p.alive() {
		p.cmd.Process.Kill()
	}
	<-p.exited
}

// rss is the resident set size of the process, from the kernel's view
// rather than the Go heap's, so that libvips' memory counts too.
func (p *proxy) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// samples are the unlabelled samples of a /metrics scrape.
type samples map[string]string

func (s samples) get(name string) string {
	if v, ok := s[name]; ok {
		return v
	}
	return "?"
}

func (p *proxy) scrape(client *http.Client) samples {
	s := make(samples)
	resp, err := client.Get(p.base + "/metrics")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && !strings.HasPrefix(name, "#") && !strings.Contains(name, "{") {
			s[name] = value
		}
	}
	return s
}

func (p *proxy) logTail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error() + "\n"
	}
	lines := strings.SplitAfter(string(b), "\n")
	return strings.Join(lines[max(0, len(lines)-n-1):], "")
}

func mib(n int64) string { return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20)) }

func mibf(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return mib(int64(f))
}

// stats counts what the proxy answered, and what it should not have.
type stats struct {
	mu       sync.Mutex
	requests int
	status   map[int]int
	fallback map[string]int
	xcache   map[string]int
	errs     map[string]int    // contract violations, by kind
	example  map[string]string // the first request of each kind of error
}

func newStats() *stats {
	return &stats{
		status:   make(map[int]int),
		fallback: make(map[string]int),
		xcache:   make(map[string]int),
		errs:     make(map[string]int),
		example:  make(map[string]string),
	}
}

func (s *stats) record(status int, h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.status[status]++
	if r := h.Get("X-Avatar-Fallback"); r != "" {
		s.fallback[r]++
	}
	if c := h.Get("X-Cache"); c != "" {
		s.xcache[c]++
	}
}

func (s *stats) fail(kind, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs[kind]++
	if _, ok := s.example[kind]; !ok {
		s.example[kind] = fmt.Sprintf(format, args...)
	}
}

// line is the progress report: requests, status classes and fallbacks.
func (s *stats) line() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var classes [6]int
	for code, n := range s.status {
		classes[min(code/100, 5)] += n
	}
	errs := 0
	for _, n := range s.errs {
		errs += n
	}
	return fmt.Sprintf("requests=%d 2xx=%d 3xx=%d 4xx=%d 5xx=%d errors=%d fallback[%s]",
		s.requests, classes[2], classes[3], classes[4], classes[5], errs, counts(s.fallback))
}

func (s *stats) summary(out io.Writer, elapsed time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(out, "summary: %d requests in %.1fs (%.0f/s)\n", s.requests, elapsed.Seconds(), float64(s.requests)/elapsed.Seconds())
	byStatus := make(map[string]int, len(s.status))
	for code, n := range s.status {
		byStatus[strconv.Itoa(code)] = n
	}
	fmt.Fprintf(out, "  status: %s\n", counts(byStatus))
	fmt.Fprintf(out, "  X-Cache: %s\n", counts(s.xcache))
	fmt.Fprintf(out, "  fallbacks: %s\n", counts(s.fallback))
	if len(s.errs) == 0 {
		fmt.Fprintln(out, "  errors: none")
	}
	for _, kind := range slices.Sorted(maps.Keys(s.errs)) {
		fmt.Fprintf(out, "  error %s: %d, first: %s\n", kind, s.errs[kind], s.example[kind])
	}
}

func (s *stats) failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var f []string
	for _, kind := range slices.Sorted(maps.Keys(s.errs)) {
		f = append(f, fmt.Sprintf("%d requests with %s", s.errs[kind], kind))
	}
	return f
}

// counts formats a map as k=v pairs, sorted by key.
func counts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// A call is one request of the load and what a correct answer looks like.
type call struct {
	method string
	path   string // with the query
	header http.Header
	want   []int // acceptable statuses
	edge   int   // an avatar's edge in pixels, checked on 200; 0: not an avatar
}

var (
	upstreams = []string{"quick", "patient"}
	accepts   = []string{"", "*/*", "image/avif,image/webp,image/*,*/*;q=0.8", "image/webp,*/*",
		"image/png,image/*;q=0.8", "text/html", "image/avif"}
	formats     = []string{"", "", "auto", "jpeg", "png", "webp", "avif"}
	commonSizes = []int{16, 24, 32, 40, 48, 64, 80, 96, 128, 256}
	defaults    = []string{"", "", "", "404", "blank", "identicon", "initials", "mp"}
	// Parameters the proxy must refuse with 400.
	badQueries = []string{"size=0", "size=-3", "size=abc", "size=99999999999999999999", "size=2000",
		"size=%2B64", "dpr=4", "dpr=1.5", "format=bmp", "d=robot", "crop=left", "colour=red",
		"size=10&size=20", "v=not%20a%20token", "v=1&timestamp=2", "size=%zz"}
	// Avatar requests answer with an image, 304, a 404 (d=404 for a user
	// without an avatar), or 503 when the resize queue is full.
	avatarStatuses = []int{http.StatusOK, http.StatusNotModified, http.StatusNotFound, http.StatusServiceUnavailable}
)

// pick returns a random request of the mix.
func pick(rng *rand.Rand) call {
	up := upstreams[rng.IntN(len(upstreams))]
	user := pickUser(rng, false)
	switch n := rng.IntN(1000); {
	case n < 10:
		return call{method: http.MethodPost, path: "/purge/" + up + "/" + url.PathEscape(user),
			header: http.Header{"Authorization": {"Bearer " + purgeToken}}, want: []int{http.StatusNoContent}}
	case n < 13:
		return call{method: http.MethodPost, path: "/purge/" + up + "/" + url.PathEscape(user), want: []int{http.StatusUnauthorized}}
	case n < 50:
		return call{method: http.MethodGet, path: "/avatar/" + up + "/" + url.PathEscape(user) + "?" + badQueries[rng.IntN(len(badQueries))],
			want: []int{http.StatusBadRequest}}
	case n < 60:
		return call{method: http.MethodGet, path: "/avatar/nosuch/" + url.PathEscape(user), want: []int{http.StatusNotFound}}
	}

	user = pickUser(rng, true)
	q := url.Values{}
	size := defaultSize
	switch n := rng.IntN(20); {
	case n == 0:
		q.Set("size", "--SIZE--")
	case n == 1:
	case n < 11:
		// Pages ask for a handful of sizes most of the time.
		size = commonSizes[rng.IntN(len(commonSizes))]
		q.Set("size", strconv.Itoa(size))
	default:
		size = 1 + rng.IntN(512)
		q.Set("size", strconv.Itoa(size))
	}
	dpr := 1
	if rng.IntN(3) == 0 {
		dpr = 1 + rng.IntN(3)
		q.Set("dpr", strconv.Itoa(dpr))
	}
	if f := formats[rng.IntN(len(formats))]; f != "" {
		q.Set("format", f)
	}
	if d := defaults[rng.IntN(len(defaults))]; d != "" {
		q.Set("d", d)
	}
	if rng.IntN(10) == 0 {
		q.Set("v", strconv.Itoa(rng.IntN(3)))
	}
	if rng.IntN(10) == 0 {
		q.Set("crop", "attention")
	}
	c := call{method: http.MethodGet, path: "/avatar/" + up + "/" + url.PathEscape(user) + "?" + q.Encode(),
		header: make(http.Header), want: avatarStatuses, edge: min(size*dpr, maxSize)}
	if rng.IntN(7) == 0 {
		c.method = http.MethodHead
	}
	if a := accepts[rng.IntN(len(accepts))]; a != "" {
		c.header.Set("Accept", a)
	}
	if rng.IntN(10) == 0 {
		c.header.Set("If-None-Match", `"not-this-one"`)
	}
	return c
}

// exchange sends one request of the mix, checks the answer, and sometimes
// follows a 200 with a conditional request for the same avatar. It returns
// the Retry-After of a 503, else 0.
func exchange(client *http.Client, base string, rng *rand.Rand, st *stats) time.Duration {
	c := pick(rng)
	etag, wait := send(client, base, c, st)
	if etag != "" && rng.IntN(4) == 0 {
		c.header = c.header.Clone()
		c.header.Set("If-None-Match", etag)
		_, wait = send(client, base, c, st)
	}
	return wait
}

// send makes one request and returns the ETag of an avatar sent with 200,
// or the Retry-After of a 503.
func send(client *http.Client, base string, c call, st *stats) (etag string, retryAfter time.Duration) {
	req, err := http.NewRequest(c.method, base+c.path, nil)
	if err != nil {
		st.fail("bad-url", "%s %s: %v", c.method, c.path, err)
		return "", 0
	}
	maps.Copy(req.Header, c.header)
	resp, err := client.Do(req)
	if err != nil {
		st.fail("no-response", "%s %s: %v", c.method, c.path, err)
		return "", 0
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		st.fail("body-cut-short", "%s %s: %v", c.method, c.path, err)
		return "", 0
	}
	st.record(resp.StatusCode, resp.Header)
	what := fmt.Sprintf("%s %s (Accept %q): %d", c.method, c.path, c.header.Get("Accept"), resp.StatusCode)
	switch {
	case resp.StatusCode == http.StatusInternalServerError:
		st.fail("status-500", "%s %q", what, body)
		return "", 0
	case !slices.Contains(c.want, resp.StatusCode):
		st.fail("unexpected-status", "%s, want one of %v; body %q", what, c.want, truncate(body))
		return "", 0
	case resp.StatusCode == http.StatusServiceUnavailable:
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs < 0 {
			st.fail("503-without-retry-after", "%s: Retry-After %q", what, resp.Header.Get("Retry-After"))
			return "", 0
		}
		return "", time.Duration(min(secs, 10)) * time.Second
	}
	if c.edge == 0 || resp.StatusCode != http.StatusOK {
		return "", 0
	}
	ct := resp.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "image/") {
		st.fail("not-an-image", "%s with Content-Type %q", what, ct)
		return "", 0
	}
	if c.method == http.MethodGet {
		w, h, err := dimensions(ct, body)
		switch {
		case err != nil:
			st.fail("undecodable-image", "%s: %s: %v", what, ct, err)
		case w != c.edge || h != c.edge:
			st.fail("wrong-size", "%s: %s of %dx%d, want %dx%d", what, ct, w, h, c.edge, c.edge)
		}
	}
	return resp.Header.Get("ETag"), 0
}

func truncate(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}

// dimensions reads an image's width and height: AVIF from its image
// spatial extents property, the rest through the image decoders.
func dimensions(contentType string, body []byte) (int, int, error) {
	if contentType == "image/avif" {
		i := bytes.Index(body, []byte("ispe"))
		if i < 0 || len(body) < i+16 {
			return 0, 0, errors.New("no ispe box")
		}
		// ispe: version and flags, then width and height.
		return int(binary.BigEndian.Uint32(body[i+8:])), int(binary.BigEndian.Uint32(body[i+12:])), nil
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	if "image/"+format != contentType {
		return 0, 0, fmt.Errorf("the body is %s", format)
	}
	return cfg.Width, cfg.Height, nil
}

// The origin's users: the part of the id before the dash names what the
// origin does, the number after it picks a variant.
var userKinds = []struct {
	kind   string
	weight int
	n      int // how many users of the kind
}{
	{"jpeg", 25, 30}, {"png", 20, 30}, {"missing", 8, 10},
	{"s500", 3, 3}, {"s502", 3, 3}, {"s503", 3, 3}, {"reset", 3, 3}, {"drip", 2, 3},
	{"html", 3, 3}, {"svg", 3, 3}, {"empty", 3, 3}, {"truncated", 3, 3},
	{"huge", 3, 3}, {"frames", 3, 2}, {"random", 3, 5}, {"odd", 2, 4},
}

// oddIDs are user ids that need escaping, or that a careless proxy would
// turn into another path.
var oddIDs = []string{"a b", "x/y", ".hidden", strings.Repeat("long", 80), "ünï", "%41"}

// pickUser returns a user id of the mix; odd ones only when odd is set.
func pickUser(rng *rand.Rand, odd bool) string {
	total := 0
	for _, k := range userKinds {
		total += k.weight
	}
	n := rng.IntN(total)
	for _, k := range userKinds {
		if n < k.weight {
			if k.kind == "odd" {
				if !odd {
					return "jpeg-0"
				}
				return oddIDs[rng.IntN(len(oddIDs))]
			}
			return fmt.Sprintf("%s-%d", k.kind, rng.IntN(k.n))
		}
		n -= k.weight
	}
	panic("unreachable")
}

// origin is the fault-injecting avatar origin, an http upstream serving
// /a/{id}.
type origin struct {
	srv  *http.Server
	addr string

	mu     sync.Mutex
	images map[string][]byte // rendered good avatars by user id
	frames []byte            // the many-frame GIF, made once
}

func startOrigin() (*origin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o := &origin{addr: ln.Addr().String(), images: make(map[string][]byte)}
	o.srv = &http.Server{Handler: o, ReadHeaderTimeout: 10 * time.Second}
	go o.srv.Serve(ln)
	return o, nil
}

func (o *origin) Close() { o.srv.Close() }

// goodSizes are the edges of the good avatars, from thumbnail to photo.
var goodSizes = []int{16, 48, 128, 256, 600, 1200}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/a/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	kind, num, _ := strings.Cut(id, "-")
	n, _ := strconv.Atoi(num)
	switch kind {
	case "jpeg", "png":
		body := o.goodImage(kind, n)
		etag := fmt.Sprintf(`"%s-%d"`, id, len(body))
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		serve(w, "image/"+kind, body)
	case "s500", "s502", "s503":
		code, _ := strconv.Atoi(kind[1:])
		http.Error(w, http.StatusText(code), code)
	case "reset":
		reset(w)
	case "drip":
		drip(w, r, o.goodImage("jpeg", 2))
	case "html":
		serve(w, "image/png", []byte("<!doctype html><html><body><h1>Too many requests</h1></body></html>\n"))
	case "svg":
		serve(w, "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">`+
			`<circle cx="50" cy="50" r="40" fill="teal"/></svg>`))
	case "empty":
		serve(w, "image/png", nil)
	case "truncated":
		full := o.goodImage("jpeg", 3+n)
		serve(w, "image/jpeg", full[:len(full)/2])
	case "huge":
		serve(w, "image/png", hugePNG())
	case "frames":
		serve(w, "image/gif", o.manyFrames())
	case "random":
		b := make([]byte, 4096<<n)
		rand.NewChaCha8([32]byte{byte(n)}).Read(b)
		serve(w, "image/jpeg", b)
	default:
		http.NotFound(w, r)
	}
}

func serve(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// goodImage renders (once) a good avatar; every fourth is not square.
func (o *origin) goodImage(kind string, n int) []byte {
	key := fmt.Sprintf("%s-%d", kind, n)
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, ok := o.images[key]; ok {
		return b
	}
	w := goodSizes[n%len(goodSizes)]
	h := w
	if n%4 == 3 {
		h = w * 2 / 3
	}
	b := fakeprovider.JPEG(key, w, h)
	if kind == "png" {
		b = fakeprovider.PNG(key, w, h)
	}
	o.images[key] = b
	return b
}

// reset drops the connection with a TCP RST instead of an answer.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

// drip sends a good JPEG one byte every 200ms, slower than any upstream
// timeout of the configuration, until the proxy gives up.
func drip(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for i := range body {
		w.Write(body[i : i+1])
		flusher.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// hugePNG is a PNG whose header claims 30000x30000 pixels over a few bytes
// of data: what a decoder must refuse before it allocates.
func hugePNG() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 30000)
	binary.BigEndian.PutUint32(ihdr[4:], 30000)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	pngChunk(&b, "IHDR", ihdr)
	// The first row only: far short of the image.
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1+3*30000))
	zw.Close()
	pngChunk(&b, "IDAT", z.Bytes())
	pngChunk(&b, "IEND", nil)
	return b.Bytes()
}

func pngChunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// manyFrames is (made once) an animated GIF of 3000 frames.
func (o *origin) manyFrames() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.frames != nil {
		return o.frames
	}
	palette := color.Palette{color.Black, color.White, color.RGBA{0xe0, 0x40, 0x20, 0xff}, color.RGBA{0x20, 0x80, 0xe0, 0xff}}
	g := &gif.GIF{}
	for i := range 3000 {
		frame := image.NewPaletted(image.Rect(0, 0, 64, 64), palette)
		for p := range frame.Pix {
			frame.Pix[p] = uint8((p/64 + i) % len(palette))
		}
		g.Image = append(g.Image, frame)
		g.Delay = append(g.Delay, 2)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		panic(err) // the frames above are always encodable
	}
	o.frames = b.Bytes()
	return o.frames
}
