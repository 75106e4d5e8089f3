package upstream_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// observer records Observe calls.
type observer struct {
	mu    sync.Mutex
	codes []string
}

func (o *observer) observe(name, code string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if name == "" || d < 0 {
		code = "bad-call:" + code
	}
	o.codes = append(o.codes, code)
}

func (o *observer) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	codes := o.codes
	o.codes = nil
	return codes
}

func newSource(t *testing.T, cfg config.Upstream, opt upstream.Options) upstream.Source {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	src, err := upstream.New(cfg, opt)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return src
}

func fetch(t *testing.T, src upstream.Source, userID string, cond upstream.Validators) (*upstream.Original, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return src.Fetch(ctx, userID, cond)
}

// mustFetch fetches an avatar that must be there.
func mustFetch(t *testing.T, src upstream.Source, userID string, cond upstream.Validators) *upstream.Original {
	t.Helper()
	o, err := fetch(t, src, userID, cond)
	if err != nil {
		t.Fatalf("Fetch(%q): %v", userID, err)
	}
	return o
}

// reasonOf returns the Reason of an *upstream.Error, failing otherwise.
func reasonOf(t *testing.T, err error) string {
	t.Helper()
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		t.Fatalf("error %v (%T) is not an *upstream.Error", err, err)
	}
	return ue.Reason
}

func wantNotFound(t *testing.T, o *upstream.Original, err error) {
	t.Helper()
	if !errors.Is(err, upstream.ErrNotFound) {
		t.Fatalf("got (%+v, %v), want ErrNotFound", o, err)
	}
}
