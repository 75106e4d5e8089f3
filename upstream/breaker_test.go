package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// origin is an http-kind upstream whose answer a test can change, and which
// counts the requests that reach it.
type origin struct {
	srv  *httptest.Server
	hits atomic.Int32

	mu     sync.Mutex
	answer http.HandlerFunc
}

func newOrigin(t *testing.T, answer http.HandlerFunc) *origin {
	o := &origin{answer: answer}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		o.mu.Lock()
		answer := o.answer
		o.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) set(answer http.HandlerFunc) {
	o.mu.Lock()
	o.answer = answer
	o.mu.Unlock()
}

func (o *origin) source(t *testing.T, opt upstream.Options) upstream.Source {
	return newSource(t, httpUpstream(o.srv.URL+"/{user_id}"), opt)
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func healthy(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("avatar")) }

// transitions records OnStateChange calls.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) record(upstream string, open bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got = append(tr.got, fmt.Sprintf("%s open=%v", upstream, open))
}

func (tr *transitions) want(t *testing.T, want ...string) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if !slices.Equal(tr.got, want) {
		t.Errorf("OnStateChange calls = %q, want %q", tr.got, want)
	}
}

// failingIDs numbers the users of failN, so that every failure is of
// another user, as when an upstream is down for all.
var failingIDs atomic.Int64

// failN fetches n times, each for another user, each of which must reach
// the origin and fail with status-503.
func failN(t *testing.T, src upstream.Source, n int) {
	t.Helper()
	for i := range n {
		_, err := fetch(t, src, fmt.Sprintf("u%d", failingIDs.Add(1)), upstream.Validators{})
		if r := reasonOf(t, err); r != "status-503" {
			t.Fatalf("fetch %d: reason %q, want status-503", i+1, r)
		}
	}
}

// wantRefused checks that a fetch is refused as circuit-open without
// reaching the origin.
func wantRefused(t *testing.T, o *origin, src upstream.Source) {
	t.Helper()
	before := o.hits.Load()
	_, err := fetch(t, src, "u", upstream.Validators{})
	var ue *upstream.Error
	if !errors.As(err, &ue) || ue.Reason != "circuit-open" || ue.Upstream != "origin" {
		t.Fatalf("got %v, want circuit-open from upstream origin", err)
	}
	if n := o.hits.Load() - before; n != 0 {
		t.Errorf("origin saw %d requests while the circuit was open, want none", n)
	}
}

func TestBreakerOpens(t *testing.T) {
	for _, failures := range []uint32{0, 2} {
		want := int(failures)
		if want == 0 {
			want = upstream.DefaultBreakerFailures
		}
		t.Run(fmt.Sprintf("failures=%d", failures), func(t *testing.T) {
			o := newOrigin(t, status(http.StatusServiceUnavailable))
			var tr transitions
			src := o.source(t, upstream.WithBreakerConfig(upstream.Options{OnStateChange: tr.record},
				upstream.BreakerConfig{Failures: failures, Cooldown: time.Hour}))
			failN(t, src, want-1)
			tr.want(t)
			failN(t, src, 1)
			tr.want(t, "origin open=true")
			wantRefused(t, o, src)
			wantRefused(t, o, src)
			if n := int(o.hits.Load()); n != want {
				t.Errorf("origin saw %d requests, want %d", n, want)
			}
		})
	}
}

func TestBreakerIgnoresWhatIsNotAnOutage(t *testing.T) {
	hangUntilCancel := func(arrived chan<- struct{}) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			select {
			case arrived <- struct{}{}:
			case <-r.Context().Done():
			}
			<-r.Context().Done()
		}
	}
	for _, tc := range []struct {
		name   string
		reason string // "" for ErrNotFound
		answer func(arrived chan<- struct{}) http.HandlerFunc
	}{
		{"not found", "", func(chan<- struct{}) http.HandlerFunc { return status(http.StatusNotFound) }},
		{"too large", "too-large", func(chan<- struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(make([]byte, 100)) }
		}},
		{"caller hung up", "canceled", hangUntilCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrigin(t, status(http.StatusServiceUnavailable))
			var tr transitions
			src := o.source(t, upstream.WithBreakerConfig(upstream.Options{MaxBytes: 16, OnStateChange: tr.record},
				upstream.BreakerConfig{Cooldown: time.Hour}))
			// One failure short of opening: any of what follows counted
			// as a failure would open the circuit.
			failN(t, src, upstream.DefaultBreakerFailures-1)

			arrived := make(chan struct{})
			o.set(tc.answer(arrived))
			for range 2 * upstream.DefaultBreakerFailures {
				ctx, cancel := context.WithTimeout(context.Background(), mustNotHang)
				go func() {
					select {
					case <-arrived:
						cancel()
					case <-ctx.Done():
					}
				}()
				_, err := src.Fetch(ctx, "u", upstream.Validators{})
				cancel()
				if tc.reason == "" {
					wantNotFound(t, nil, err)
				} else if r := reasonOf(t, err); r != tc.reason {
					t.Fatalf("reason %q (%v), want %s", r, err, tc.reason)
				}
			}

			o.set(healthy)
			before := o.hits.Load()
			mustFetch(t, src, "u", upstream.Validators{})
			if o.hits.Load() == before {
				t.Error("fetch did not reach the origin")
			}
			tr.want(t)
		})
	}
}

func TestBreakerProbe(t *testing.T) {
	const cooldown = 50 * time.Millisecond
	// waitCooldown outlasts the cooldown; sleep never returns early.
	waitCooldown := func() { time.Sleep(2 * cooldown) }

	// refusedSince checks that a fetch is refused as circuit-open, the
	// circuit having opened no earlier than start. Should the machine stall
	// for a whole cooldown since, the circuit may rightly be half-open
	// again, and nothing can be told.
	refusedSince := func(t *testing.T, o *origin, src upstream.Source, start time.Time) {
		t.Helper()
		before := o.hits.Load()
		_, err := fetch(t, src, "u", upstream.Validators{})
		var ue *upstream.Error
		if errors.As(err, &ue) && ue.Reason == "circuit-open" {
			if n := o.hits.Load() - before; n != 0 {
				t.Errorf("origin saw %d requests while the circuit was open, want none", n)
			}
			return
		}
		if time.Since(start) >= cooldown {
			t.Skip("stalled past the cooldown; cannot observe the open circuit")
		}
		t.Fatalf("got %v, want circuit-open", err)
	}
	// failThenRefused makes the fetch that opens the circuit and checks
	// that the next one is refused.
	failThenRefused := func(t *testing.T, o *origin, src upstream.Source) {
		t.Helper()
		start := time.Now()
		failN(t, src, 1)
		refusedSince(t, o, src, start)
	}

	// openAndCool opens a new origin's circuit, checking that it then
	// refuses, and waits out the cooldown.
	openAndCool := func(t *testing.T) (*origin, upstream.Source, *transitions) {
		t.Helper()
		o := newOrigin(t, status(http.StatusServiceUnavailable))
		tr := &transitions{}
		src := o.source(t, upstream.WithBreakerConfig(upstream.Options{OnStateChange: tr.record}, upstream.BreakerConfig{Cooldown: cooldown}))
		failN(t, src, upstream.DefaultBreakerFailures-1)
		failThenRefused(t, o, src)
		waitCooldown()
		return o, src, tr
	}

	t.Run("success closes", func(t *testing.T) {
		o, src, tr := openAndCool(t)

		// One probe goes through; while it is out, the circuit still
		// refuses everyone else.
		arrived, release := make(chan struct{}), make(chan struct{})
		o.set(func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-release
			healthy(w, r)
		})
		probe := make(chan error, 1)
		go func() {
			_, err := fetch(t, src, "u", upstream.Validators{})
			probe <- err
		}()
		select {
		case <-arrived:
		case <-time.After(mustNotHang):
			t.Fatal("the probe never reached the origin")
		}
		o.set(healthy)
		wantRefused(t, o, src)
		close(release)
		if err := <-probe; err != nil {
			t.Fatalf("probe: %v", err)
		}
		tr.want(t, "origin open=true", "origin open=false")

		// Closed, with the failure count started afresh.
		o.set(status(http.StatusServiceUnavailable))
		failN(t, src, upstream.DefaultBreakerFailures-1)
		tr.want(t, "origin open=true", "origin open=false")
	})

	t.Run("failure reopens", func(t *testing.T) {
		o, src, tr := openAndCool(t)

		// A single failed probe is enough to open it again.
		failThenRefused(t, o, src)
		tr.want(t, "origin open=true")

		waitCooldown()
		o.set(healthy)
		mustFetch(t, src, "u", upstream.Validators{})
		tr.want(t, "origin open=true", "origin open=false")
	})

	t.Run("hung-up probe", func(t *testing.T) {
		o := newOrigin(t, status(http.StatusServiceUnavailable))
		var tr transitions
		src := o.source(t, upstream.WithBreakerConfig(upstream.Options{OnStateChange: tr.record}, upstream.BreakerConfig{Cooldown: cooldown}))
		failN(t, src, upstream.DefaultBreakerFailures)
		waitCooldown()

		// A probe whose caller hangs up proves nothing: the circuit stays
		// open, yet must not wait for the probe's verdict forever.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		_, err := src.Fetch(ctx, "u", upstream.Validators{})
		if r := reasonOf(t, err); r != "canceled" {
			t.Fatalf("reason %q, want canceled", r)
		}
		refusedSince(t, o, src, start)
		tr.want(t, "origin open=true")
		waitCooldown()
		o.set(healthy)
		mustFetch(t, src, "u", upstream.Validators{})
		tr.want(t, "origin open=true", "origin open=false")
	})
}

func TestNewWrapsNetworkKinds(t *testing.T) {
	gravatarHash := strings.Repeat("ab", 16)
	for _, kind := range []string{"http", "box", "docspace", "activecollab", "gravatar"} {
		t.Run(kind, func(t *testing.T) {
			o := newOrigin(t, status(http.StatusServiceUnavailable))
			cfg := config.Upstream{Name: "origin", Kind: kind, BaseURL: o.srv.URL, Token: "t", APIKey: "k"}
			if kind == "http" {
				cfg = httpUpstream(o.srv.URL + "/{user_id}")
			}
			src := newSource(t, cfg, upstream.WithBreakerConfig(upstream.Options{}, upstream.BreakerConfig{Cooldown: time.Hour}))
			// Each failure of another user, as when the upstream is down.
			user := func(i int) string {
				if kind == "gravatar" {
					return fmt.Sprintf("%02d", i) + gravatarHash[2:]
				}
				return strconv.Itoa(7 + i)
			}
			for i := range upstream.DefaultBreakerFailures {
				_, err := fetch(t, src, user(i), upstream.Validators{})
				if r := reasonOf(t, err); r != "status-503" {
					t.Fatalf("reason %q (%v), want status-503", r, err)
				}
			}
			before := o.hits.Load()
			_, err := fetch(t, src, user(0), upstream.Validators{})
			if r := reasonOf(t, err); r != "circuit-open" {
				t.Errorf("reason %q, want circuit-open", r)
			}
			if o.hits.Load() != before {
				t.Error("the origin was asked with the circuit open")
			}
		})
	}
}

// plainSource is a Source that knows no names.
type plainSource struct{}

func (plainSource) Fetch(context.Context, string, upstream.Validators) (*upstream.Original, error) {
	return nil, upstream.ErrNotFound
}

func TestBreakerKeepsNamer(t *testing.T) {
	if _, ok := upstream.WithBreaker("plain", plainSource{}, upstream.BreakerConfig{}).(upstream.Namer); ok {
		t.Error("WithBreaker made a Namer of a source that is none")
	}
	ds := newSource(t, config.Upstream{Kind: "docspace", BaseURL: "https://docspace.test", APIKey: "k"}, upstream.Options{})
	if _, ok := ds.(upstream.Namer); !ok {
		t.Error("docspace source is not a Namer")
	}

	ac := fakeprovidertest.NewActiveCollab(t, "ac-token")
	ac.AddUser("7", "Ada", "Lovelace")
	src := newSource(t, config.Upstream{Name: "ac", Kind: "activecollab", BaseURL: ac.URL(), Token: "ac-token"},
		upstream.WithBreakerConfig(upstream.Options{}, upstream.BreakerConfig{Cooldown: time.Hour}))
	namer, ok := src.(upstream.Namer)
	if !ok {
		t.Fatal("activecollab source is not a Namer")
	}
	if name, err := namer.DisplayName(context.Background(), "7"); err != nil || name != "Ada Lovelace" {
		t.Fatalf("DisplayName = %q, %v; want Ada Lovelace", name, err)
	}

	ac.Close()
	for i := range upstream.DefaultBreakerFailures {
		_, err := fetch(t, src, strconv.Itoa(7+i), upstream.Validators{})
		if r := reasonOf(t, err); r != "unreachable" {
			t.Fatalf("reason %q (%v), want unreachable", r, err)
		}
	}
	_, err := namer.DisplayName(context.Background(), "7")
	if r := reasonOf(t, err); r != "circuit-open" {
		t.Errorf("DisplayName with the circuit open: reason %q, want circuit-open", r)
	}
	if !strings.Contains(err.Error(), "upstream ac:") {
		t.Errorf("error %q does not name the upstream", err)
	}
}

// A user whose fetches keep failing says nothing of the upstream: the
// circuit stays closed for everyone, however often a few such users are
// asked for. Failures of as many users as it takes failures open it.
func TestBreakerNeedsSeveralUsers(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/bad") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		healthy(w, r)
	})
	var tr transitions
	src := o.source(t, upstream.WithBreakerConfig(upstream.Options{OnStateChange: tr.record}, upstream.BreakerConfig{Cooldown: time.Hour}))
	for i := range 4 * upstream.DefaultBreakerFailures {
		// A few users short of the threshold, the only ones asked for.
		id := fmt.Sprintf("bad-few-%d", i%(upstream.DefaultBreakerFailures-1))
		if _, err := fetch(t, src, id, upstream.Validators{}); reasonOf(t, err) != "status-503" {
			t.Fatalf("fetch %d of %s: %v, want status-503", i+1, id, err)
		}
	}
	tr.want(t)
	mustFetch(t, src, "good", upstream.Validators{})

	for i := range upstream.DefaultBreakerFailures {
		if _, err := fetch(t, src, fmt.Sprintf("bad-%d", i), upstream.Validators{}); reasonOf(t, err) != "status-503" {
			t.Fatalf("fetch of bad-%d: %v, want status-503", i, err)
		}
	}
	tr.want(t, "origin open=true")
	wantRefused(t, o, src)
}
