// Package upstream fetches original avatar images from the providers that
// hold them: local files, plain HTTP origins, Box, ONLYOFFICE DocSpace,
// ActiveCollab and Gravatar-compatible services. Each provider's file holds
// all that is known of its kind: its configuration keys, how to fetch, and
// which pass-through requests and webhooks change whose avatar.
package upstream

import (
	"context"

	"github.com/avatarproxy/avatarproxy/failure"
)

// Source fetches the original avatar of a user from one provider.
type Source interface {
	// Fetch returns the user's original avatar. When cond carries the
	// validators of a copy the caller holds and the provider confirms it is
	// unchanged, Fetch returns an Original with NotModified set and no Body.
	// A user without an avatar is ErrNotFound; any other failure is an
	// *Error.
	Fetch(ctx context.Context, userID string, cond Validators) (*Original, error)
}

// Validators identify a copy of an original for a conditional fetch.
type Validators struct {
	ETag         string
	LastModified string
}

// Original is an avatar image as the provider sent it.
type Original struct {
	Body        []byte
	Validators  Validators
	NotModified bool
}

// ErrNotFound means the provider has no avatar for the user.
var ErrNotFound error = failure.New(failure.NotFound, "upstream: user has no avatar")

// Error is a failed fetch. Class says what it means; Reason is a short
// token fit for the X-Avatar-Fallback header and for logs: the class's
// name, or "status-502" and the like for an unexpected status.
type Error struct {
	Upstream string
	Class    *failure.Class
	Reason   string
	Err      error
}

// newError returns the failure of upstream, of class c, caused by err.
func newError(upstream string, c *failure.Class, err error) *Error {
	return &Error{Upstream: upstream, Class: c, Reason: c.Name, Err: err}
}

// FailureClass implements failure.Classified.
func (e *Error) FailureClass() *failure.Class { return e.Class }

func (e *Error) Error() string {
	if e.Err == nil {
		return "upstream " + e.Upstream + ": " + e.Reason
	}
	return "upstream " + e.Upstream + ": " + e.Reason + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Namer is implemented by sources whose provider also knows the user's
// name, so that a user without a photo can still get an initials avatar.
type Namer interface {
	// DisplayName returns the name the provider shows for the user. An
	// unknown user is ErrNotFound; any other failure is an *Error.
	DisplayName(ctx context.Context, userID string) (string, error)
}
