// Package fakeprovidertest starts the fake providers for a test and stops
// them when it ends. It is imported by tests only.
package fakeprovidertest

import (
	"testing"

	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
)

// NewBox starts a Box fake that accepts the given bearer tokens, or any
// non-empty one when none are given.
func NewBox(t testing.TB, tokens ...string) *fakeprovider.Box {
	fake, err := fakeprovider.StartBox(tokens...)
	return started(t, fake, err)
}

// NewDocSpace starts a DocSpace fake that accepts apiKey, or only session
// tokens when apiKey is empty.
func NewDocSpace(t testing.TB, apiKey string) *fakeprovider.DocSpace {
	fake, err := fakeprovider.StartDocSpace(apiKey)
	return started(t, fake, err)
}

// NewActiveCollab starts an ActiveCollab fake that accepts token.
func NewActiveCollab(t testing.TB, token string) *fakeprovider.ActiveCollab {
	fake, err := fakeprovider.StartActiveCollab(token)
	return started(t, fake, err)
}

// NewGravatar starts a Gravatar fake.
func NewGravatar(t testing.TB) *fakeprovider.Gravatar {
	fake, err := fakeprovider.StartGravatar()
	return started(t, fake, err)
}

// started fails the test when a fake did not start, and closes it when
// the test ends.
func started[F interface{ Close() }](t testing.TB, fake F, err error) F {
	t.Helper()
	if err != nil {
		t.Fatalf("starting a fake provider: %v", err)
	}
	t.Cleanup(fake.Close)
	return fake
}
