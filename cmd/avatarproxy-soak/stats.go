package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

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
