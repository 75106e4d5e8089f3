package rediscache

import (
	"log/slog"
	"testing"

	"go.uber.org/goleak"
)

// Clients, subscriptions and probes must stop with Close. The client
// library's own lines (dial failures while a test has Redis down) are
// noise here.
func TestMain(m *testing.M) {
	RouteClientLogs(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m)
}
