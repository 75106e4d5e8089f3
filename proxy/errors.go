package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/avatarproxy/avatarproxy/resize"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// requestError is a problem with what the client sent.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

var (
	errUnknownUpstream = &requestError{status: http.StatusNotFound, msg: "unknown upstream"}
	errBadSignature    = &requestError{status: http.StatusForbidden, msg: "sig: missing or invalid signature"}
	errUnauthorized    = &requestError{status: http.StatusUnauthorized, msg: "missing or invalid credentials"}
)

// errorStatus maps an error to the status and one-line message a client
// gets. It is the one place where errors become status codes; anything it
// does not know is a 500 and a bug, logged in full by the caller.
func errorStatus(err error) (int, string) {
	var re *requestError
	switch {
	case errors.As(err, &re):
		return re.status, re.msg
	case errors.Is(err, resize.ErrBusy):
		return http.StatusServiceUnavailable, "overloaded, retry shortly"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timed out"
	}
	var ue *upstream.Error
	if errors.As(err, &ue) {
		return http.StatusBadGateway, "upstream failed: " + ue.Reason
	}
	return http.StatusInternalServerError, "internal error"
}

// fallbackReason names why an avatar could not be rendered from the
// upstream, for the X-Avatar-Fallback header; "" when the error is not one
// that a default image should paper over.
func fallbackReason(err error) string {
	var ue *upstream.Error
	switch {
	case errors.As(err, &ue):
		return ue.Reason
	case errors.Is(err, resize.ErrTooLarge):
		return "too-large"
	case errors.Is(err, resize.ErrUnsupported):
		return "unsupported-image"
	case errors.Is(err, resize.ErrBadImage):
		return "bad-image"
	}
	return ""
}

func writeError(w http.ResponseWriter, err error) {
	status, msg := errorStatus(err)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	http.Error(w, msg, status)
}
