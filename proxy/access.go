package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
)

// This file is what every request passes through on its way in and out:
// its request id, its metrics and its access line, with the metric
// children resolved once and the response recorder reused, so that the
// wrapper adds no allocation of its own beyond a made-up request id.

// route is a handler under a fixed name, counted, timed and logged.
type route struct {
	s    *Server
	name string
	h    http.HandlerFunc
	// upstream names the route's upstream when it is fixed; else it is
	// the {upstream} of the path, if any.
	upstream string
	// logPath adds the path to access lines: only on routes whose path
	// holds nothing but an upstream and a user id.
	logPath bool

	duration  prometheus.Observer
	codes     [600]atomic.Pointer[prometheus.Counter] // by status, resolved on first use
	recorders sync.Pool
}

func (s *Server) newRoute(name string, h http.HandlerFunc) *route {
	return &route{
		s: s, name: name, h: h,
		duration:  s.metrics.HTTPRequestDuration.WithLabelValues(name),
		recorders: sync.Pool{New: func() any { return new(recorder) }},
	}
}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	m := rt.s.metrics
	m.Inflight.Inc()
	defer m.Inflight.Dec()

	id := rt.s.requestIDs.of(r)
	w.Header()["X-Request-Id"] = id
	rec := rt.recorders.Get().(*recorder)
	*rec = recorder{ResponseWriter: w}
	rt.h(rec, r)
	status, written := rec.status, rec.written
	if status == 0 {
		status = http.StatusOK
	}
	*rec = recorder{}
	rt.recorders.Put(rec)

	elapsed := time.Since(start)
	rt.counter(status).Inc()
	rt.duration.Observe(elapsed.Seconds())
	if rt.s.log.Enabled(r.Context(), slog.LevelInfo) {
		rt.logAccess(r, w.Header(), id[0], status, written, elapsed)
	}
}

// counter is the requests counter of the route and status.
func (rt *route) counter(status int) prometheus.Counter {
	if status < 0 || status >= len(rt.codes) {
		return rt.s.metrics.HTTPRequests.WithLabelValues(rt.name, strconv.Itoa(status))
	}
	if c := rt.codes[status].Load(); c != nil {
		return *c
	}
	c := rt.s.metrics.HTTPRequests.WithLabelValues(rt.name, strconv.Itoa(status))
	rt.codes[status].Store(&c)
	return c
}

// logAccess writes the request's access line. It names the route, never
// the raw path of a pass-through request, and no query string at all.
func (rt *route) logAccess(r *http.Request, h http.Header, id string, status int, written int64, elapsed time.Duration) {
	upstream := rt.upstream
	if upstream == "" {
		upstream = r.PathValue("upstream")
	}
	attrs := [...]slog.Attr{
		slog.String("id", id),
		slog.String("method", r.Method),
		slog.String("route", rt.name),
		slog.String("upstream", upstream),
		slog.String("cache", firstValue(h["X-Cache"])),
		slog.String("fallback", firstValue(h["X-Avatar-Fallback"])),
		slog.Int("status", status),
		slog.Int64("bytes", written),
		slog.Duration("duration", elapsed),
		slog.String("path", ""),
	}
	n := len(attrs)
	if rt.logPath {
		attrs[n-1].Value = slog.StringValue(r.URL.Path)
	} else {
		n--
	}
	rt.s.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs[:n]...)
}

func firstValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// recorder notes the status and size of a response on its way out.
type recorder struct {
	http.ResponseWriter
	status  int
	written int64
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 && code >= 200 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.written += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer, for
// flushing and hijacking pass-through responses.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// requestIDs names requests: the client's X-Request-Id when it is a sane
// token, else the process's prefix and a counter.
type requestIDs struct {
	prefix string
	last   atomic.Uint64
}

// maxRequestIDLen bounds a client's X-Request-Id that is echoed and logged.
const maxRequestIDLen = 64

func newRequestIDs() *requestIDs {
	var b [4]byte
	rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

// of returns r's request id as a header value. The client's own value is
// shared, not copied; a made-up one takes one allocation.
func (ids *requestIDs) of(r *http.Request) []string {
	if v := r.Header["X-Request-Id"]; len(v) == 1 && len(v[0]) <= maxRequestIDLen && v[0] != "" && isToken(v[0]) {
		return v
	}
	return ids.next()
}

// madeID holds a made-up id and the header value naming it, allocated as one.
type madeID struct {
	value [1]string
	buf   [24]byte // prefix (9) and a base-36 uint64 (at most 13)
}

func (ids *requestIDs) next() []string {
	m := new(madeID)
	b := append(m.buf[:0], ids.prefix...)
	b = strconv.AppendUint(b, ids.last.Add(1), 36)
	m.value[0] = unsafe.String(&m.buf[0], len(b))
	return m.value[:]
}
