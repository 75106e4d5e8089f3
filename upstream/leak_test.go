package upstream

import (
	"testing"

	"go.uber.org/goleak"
)

// Every fetch, timeout and breaker test must leave no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
