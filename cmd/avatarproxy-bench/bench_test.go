package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

const wrkOutput = `Running 5s test @ http://127.0.0.1:41000/avatar/o/u00000?size=80&format=jpeg
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.80ms  480.11us  13.21ms   91.02%
    Req/Sec    22.91k     1.02k   24.50k    70.00%
  Latency Distribution
     50%    2.71ms
     75%    2.90ms
     90%    3.20ms
     99%  812.00us
  114032 requests in 5.00s, 254.10MB read
Requests/sec:  22806.40
Transfer/sec:     50.82MB
`

func TestParseWrkReadsThroughputAndP99(t *testing.T) {
	got, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if got.rps != 22806.40 || got.p99 != 812*time.Microsecond {
		t.Fatalf("got %+v, want 22806.40 req/s and p99 812us", got)
	}
	if _, err := parseWrk(wrkOutput + "  Non-2xx or 3xx responses: 12\n"); err == nil {
		t.Fatal("a run with error responses was accepted")
	}
	if _, err := parseWrk("wrk: connection refused"); err == nil {
		t.Fatal("output without figures was accepted")
	}
}

func TestMixListIsSeededAndSkewed(t *testing.T) {
	o := options{users: 500, mixRequests: 20000, seed: 7}
	a, b := mixList(o, "m"), mixList(o, "m")
	if !slices.Equal(a, b) {
		t.Fatal("the same seed drew two different lists")
	}
	count := map[string]int{}
	for _, r := range a {
		count[r.user]++
		if r.edge < 20 || r.edge > 512 {
			t.Fatalf("edge %d outside the mix's sizes", r.edge)
		}
	}
	// Zipf: the most popular user is asked for far more than an even share.
	top := 0
	for _, n := range count {
		top = max(top, n)
	}
	if even := len(a) / o.users; top < 10*even {
		t.Fatalf("most popular user asked %d times, an even share is %d: not skewed", top, even)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestHistogramCountAddsEveryLabelSet(t *testing.T) {
	text := `# HELP avatarproxy_resize_duration_seconds Time spent resizing.
# TYPE avatarproxy_resize_duration_seconds histogram
avatarproxy_resize_duration_seconds_bucket{format="jpeg",le="+Inf"} 7
avatarproxy_resize_duration_seconds_sum{format="jpeg"} 0.5
avatarproxy_resize_duration_seconds_count{format="jpeg"} 7
avatarproxy_resize_duration_seconds_bucket{format="avif",le="+Inf"} 12
avatarproxy_resize_duration_seconds_sum{format="avif"} 1.5
avatarproxy_resize_duration_seconds_count{format="avif"} 12
# TYPE avatarproxy_resize_queue_bytes gauge
avatarproxy_resize_queue_bytes 1000
`
	got, err := histogramCount([]byte(text), "avatarproxy_resize_duration_seconds")
	if err != nil || got != 19 {
		t.Fatalf("count %v (%v), want 19", got, err)
	}
	if got, err := histogramCount([]byte(text), "avatarproxy_absent_seconds"); err != nil || got != 0 {
		t.Fatalf("absent histogram: %v (%v), want 0", got, err)
	}
	if _, err := histogramCount([]byte("not {metrics"), "x"); err == nil {
		t.Fatal("text that is not the exposition format was accepted")
	}
}

func TestBareHandlerWritesTheCapturedResponse(t *testing.T) {
	h := bareHandler([]bareResponse{{
		Path:   "/0",
		Header: http.Header{"Content-Type": {"image/avif"}, "Vary": {"Accept"}, "X-Cache": {"HIT"}},
		Body:   []byte("avif bytes"),
	}})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/0", nil))
	if w.Code != 200 || w.Body.String() != "avif bytes" {
		t.Fatalf("status %d, body %q", w.Code, w.Body.String())
	}
	for name, want := range map[string]string{"Content-Type": "image/avif", "Vary": "Accept", "X-Cache": "HIT"} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/1", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("a path never captured: status %d, want 404", w.Code)
	}
}
