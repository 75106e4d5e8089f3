package rediscache

import (
	"testing"

	"go.uber.org/goleak"
)

// Clients, subscriptions and probes must stop with Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
