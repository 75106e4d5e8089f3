// Package failure defines the classes of error the avatar pipeline can
// produce, once: the token a class is known by in X-Avatar-Fallback and
// logs, the status a client gets when no default image stands in, whether
// a default image does stand in, and what the error says about an
// upstream's health. Errors carry their class (see Error and Of); every
// decision made about an error reads it from there.
package failure

import (
	"context"
	"errors"
	"net/http"
)

// Health is what an error says about the upstream that produced it, for
// its circuit breaker.
type Health int

const (
	// ProvesNothing leaves the breaker's counts alone: the call never
	// reached the upstream, or its caller gave up.
	ProvesNothing Health = iota
	// ShowsHealthy means the upstream answered, even if with bad content.
	ShowsHealthy
	// CountsUnwell means the upstream is down or failing.
	CountsUnwell
)

// Class is one kind of failure. Classes are compared by identity.
type Class struct {
	// Name is the token used in X-Avatar-Fallback and in logs.
	Name string
	// Status is what a client gets when no default image stands in.
	Status int
	// Fallback says the default avatar is served instead, with Name as
	// the X-Avatar-Fallback reason.
	Fallback bool
	// Health is the error's effect on the upstream's circuit breaker.
	Health Health
	// Message is the public one-line message sent with Status.
	Message string
}

// Upstream failures: the avatar could not be fetched. Each falls back to
// the default image.
var (
	Timeout            = &Class{"timeout", http.StatusGatewayTimeout, true, CountsUnwell, "upstream timed out"}
	Unreachable        = &Class{"unreachable", http.StatusBadGateway, true, CountsUnwell, "upstream unreachable"}
	UpstreamServerFail = &Class{"upstream-5xx", http.StatusBadGateway, true, CountsUnwell, "upstream failed"}
	UpstreamStatus     = &Class{"upstream-status", http.StatusBadGateway, true, ShowsHealthy, "upstream answered an unexpected status"}
	CircuitOpen        = &Class{"circuit-open", http.StatusBadGateway, true, ProvesNothing, "upstream is failing; not asked"}
	Canceled           = &Class{"canceled", 499, true, ProvesNothing, "request canceled"}
	BadURL             = &Class{"bad-url", http.StatusBadGateway, true, ProvesNothing, "upstream URL cannot be built"}
	ForbiddenAddress   = &Class{"forbidden-address", http.StatusBadGateway, true, ProvesNothing, "upstream address refused"}
	Redirect           = &Class{"redirect", http.StatusBadGateway, true, ShowsHealthy, "upstream redirect refused"}
	BadResponse        = &Class{"bad-response", http.StatusBadGateway, true, ShowsHealthy, "upstream response malformed"}
	ForeignHost        = &Class{"foreign-host", http.StatusBadGateway, true, ShowsHealthy, "upstream pointed to another host"}
	Unreadable         = &Class{"unreadable", http.StatusBadGateway, true, ShowsHealthy, "upstream file unreadable"}
	Unexpected304      = &Class{"unexpected-304", http.StatusBadGateway, true, ShowsHealthy, "upstream confirmed a copy never asked for"}
	// Auth is an upstream that refused the proxy's credentials, or whose
	// token endpoint answered no token: a configuration to fix, not an
	// outage, so the breaker stays closed.
	Auth = &Class{"auth", http.StatusBadGateway, true, ShowsHealthy, "upstream refused the proxy's credentials"}
	// NotFound is a user without an avatar: the requested default (d)
	// answers, not a fallback.
	NotFound = &Class{"not-found", http.StatusNotFound, false, ShowsHealthy, "no avatar"}
)

// Image failures: the original cannot be rendered. Each falls back to the
// default image; the upstream answered, so each shows it healthy.
var (
	TooLarge     = &Class{"too-large", http.StatusBadGateway, true, ShowsHealthy, "avatar too large"}
	Unsupported  = &Class{"unsupported-image", http.StatusBadGateway, true, ShowsHealthy, "avatar is not an accepted image"}
	BadImage     = &Class{"bad-image", http.StatusBadGateway, true, ShowsHealthy, "avatar image is damaged"}
	RenderFailed = &Class{"render-failed", http.StatusBadGateway, true, ShowsHealthy, "avatar could not be rendered"}
)

// Serving failures: the proxy itself cannot answer now.
var (
	// Busy is an overloaded resize pool: full queue, or no worker free
	// before the collapsed work's deadline.
	Busy = &Class{"busy", http.StatusServiceUnavailable, false, ProvesNothing, "overloaded, retry shortly"}
	// TimedOut is a deadline of the proxy's own that ran out.
	TimedOut = &Class{"timed-out", http.StatusGatewayTimeout, false, ProvesNothing, "timed out"}
	// ClientGone is a request its client abandoned.
	ClientGone = &Class{"client-gone", 499, false, ProvesNothing, "client closed the request"}
	// Internal is a bug: an error no class was given to, or a misuse of
	// an API. It is logged in full.
	Internal = &Class{"internal", http.StatusInternalServerError, false, ProvesNothing, "internal error"}
)

// Client errors: what the client sent is wrong. The Error's message, which
// names the parameter, replaces Message.
var (
	BadRequest       = &Class{"bad-request", http.StatusBadRequest, false, ProvesNothing, "bad request"}
	Unauthorized     = &Class{"unauthorized", http.StatusUnauthorized, false, ProvesNothing, "missing or invalid credentials"}
	Forbidden        = &Class{"forbidden", http.StatusForbidden, false, ProvesNothing, "forbidden"}
	NoRoute          = &Class{"no-route", http.StatusNotFound, false, ProvesNothing, "not found"}
	MethodNotAllowed = &Class{"method-not-allowed", http.StatusMethodNotAllowed, false, ProvesNothing, "method not allowed"}
	BodyTooLarge     = &Class{"body-too-large", http.StatusRequestEntityTooLarge, false, ProvesNothing, "body too large"}
	// Conflict is a request already taken once, such as a replayed
	// webhook delivery.
	Conflict = &Class{"conflict", http.StatusConflict, false, ProvesNothing, "already done"}
)

// All lists every class, for tests and documentation.
var All = []*Class{
	Timeout, Unreachable, UpstreamServerFail, UpstreamStatus, CircuitOpen, Canceled, BadURL,
	ForbiddenAddress, Redirect, BadResponse, ForeignHost, Unreadable, Unexpected304, Auth, NotFound,
	TooLarge, Unsupported, BadImage, RenderFailed,
	Busy, TimedOut, ClientGone, Internal,
	BadRequest, Unauthorized, Forbidden, NoRoute, MethodNotAllowed, BodyTooLarge, Conflict,
}

// IsClientError reports whether the class is about what the client sent;
// its Error's message is then safe and useful to send back.
func (c *Class) IsClientError() bool {
	return c.Status >= 400 && c.Status < 500 && c.Status != 499 && c != NotFound
}

// Error is an error with its class. Msg, when set, is the error's text;
// Err, when set, is its cause.
type Error struct {
	Class *Class
	Msg   string
	Err   error
}

// New returns an error of class c with text msg.
func New(c *Class, msg string) *Error { return &Error{Class: c, Msg: msg} }

// Wrap returns err classified as c; nil stays nil.
func Wrap(c *Class, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: c, Err: err}
}

func (e *Error) Error() string {
	switch {
	case e.Msg == "" && e.Err == nil:
		return e.Class.Name
	case e.Err == nil:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Classified is implemented by errors that know their class.
type Classified interface {
	error
	FailureClass() *Class
}

// FailureClass implements Classified.
func (e *Error) FailureClass() *Class { return e.Class }

// Of returns err's class: the outermost class an error in its chain
// carries, else that of a bare context error, else Internal. ok is false
// for an error no class was given to, which callers log as a bug.
func Of(err error) (c *Class, ok bool) {
	var cl Classified
	switch {
	case err == nil:
		return nil, true
	case errors.As(err, &cl):
		return cl.FailureClass(), true
	case errors.Is(err, context.DeadlineExceeded):
		return TimedOut, true
	case errors.Is(err, context.Canceled):
		return ClientGone, true
	}
	return Internal, false
}
