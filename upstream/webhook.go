package upstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WebhookReceiver is implemented by providers that send webhooks naming
// users whose avatar may have changed. Deliveries are authenticated with
// the upstream's webhook_secret, by the provider's own scheme when the
// request carries its credential.
type WebhookReceiver interface {
	// WebhookCredential reads the provider's own credential from a
	// delivery's headers, before any of its body is read, so that a
	// request without a well-formed credential costs no body.
	WebhookCredential(h http.Header, secret string) Credential
	// WebhookEvent reads an authenticated delivery: the user whose avatar
	// the event may have changed ("" for an event that changes no avatar)
	// and what identifies the delivery, or a *WebhookError for a body that
	// is no delivery of the provider.
	WebhookEvent(body []byte) (Event, error)
}

// Credential is what a delivery's headers say of the provider's own
// credential.
type Credential struct {
	// Present is false when the request carries none, so that the caller
	// may accept another credential instead.
	Present bool
	// Refused says the headers alone disprove it: malformed, or not the
	// secret.
	Refused bool
	// Signature, when set, is a signature of the body that must verify
	// too; the body then cannot have been altered, so what it says of its
	// own age and identity can be trusted.
	Signature func(body []byte) bool
}

// Event is what a delivery says.
type Event struct {
	UserID string
	// ID and Created identify a delivery and tell when the provider made
	// it, for providers that send them inside the signed body; they are
	// empty otherwise. The receiver refuses deliveries that are too old
	// and repeats of an ID it has seen.
	ID      string
	Created time.Time
}

// WebhookError is a webhook body the provider would not have sent. Its
// message is one line, fit for the sender: it names the field at fault.
type WebhookError struct {
	Msg string
}

func (e *WebhookError) Error() string { return e.Msg }

func badWebhook(format string, args ...any) error {
	return &WebhookError{Msg: fmt.Sprintf(format, args...)}
}

// notAWebhook explains a body that did not decode. Type errors are not
// repeated: they name Go types, which mean nothing to the sender.
func notAWebhook(provider string, err error) error {
	if syntax := (*json.SyntaxError)(nil); errors.As(err, &syntax) {
		return badWebhook("body: invalid JSON: %v", syntax)
	}
	return badWebhook("body: not the JSON object of a %s webhook", provider)
}

// payloadUserID reads payload.id, a string (DocSpace's GUIDs) or a positive
// integer (ActiveCollab's ids), which becomes its decimal form.
func payloadUserID(payload json.RawMessage) (string, error) {
	var user struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(payload, &user); err != nil || len(user.ID) == 0 {
		return "", badWebhook("payload.id: missing")
	}
	var s string
	if err := json.Unmarshal(user.ID, &s); err == nil && s != "" {
		return s, nil
	}
	var n int64
	if err := json.Unmarshal(user.ID, &n); err == nil && n > 0 {
		return strconv.FormatInt(n, 10), nil
	}
	return "", badWebhook("payload.id: not a user id")
}

// CutPrefixFold is strings.CutPrefix with prefix matched regardless of
// case, as an HTTP authentication scheme or a signature's algorithm is.
func CutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
