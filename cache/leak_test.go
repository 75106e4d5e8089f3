package cache

import (
	"testing"

	"go.uber.org/goleak"
)

// Collapsed calls and tiers must leave no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
