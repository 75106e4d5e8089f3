package proxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/avatarproxy/avatarproxy/upstream"
)

// maxWebhookBody bounds a webhook delivery; the events we read are a few KiB.
const maxWebhookBody = 1 << 20

// A webhook delivery is authenticated with the upstream's webhook_secret in
// one of two ways:
//
//   - the provider's own scheme, when the request carries its header:
//     DocSpace signs the raw body with HMAC-SHA256 keyed by the webhook's
//     secret key and sends "sha256=" and the hex digest in
//     x-docspace-signature-256; ActiveCollab sends the webhook's secret as
//     it is in X-Angie-WebhookSecret;
//   - otherwise "Authorization: Bearer {webhook_secret}", for senders that
//     can set a header but not sign, such as a relay in front of the proxy.
//
// An upstream without a webhook_secret accepts no webhooks at all.
type webhookScheme struct {
	// verify checks the provider's own credential; present is false when
	// the request carries none.
	verify func(h http.Header, body []byte, secret string) (present, valid bool)
	// userID returns the user whose avatar the event may have changed, ""
	// for an event that changes no avatar, or a *requestError.
	userID func(body []byte) (string, error)
}

// webhookSchemes are the upstream kinds whose providers send webhooks.
// Box's webhooks report file and folder events only, never a user's, and
// the other kinds have no provider that sends any.
var webhookSchemes = map[string]webhookScheme{
	upstream.KindDocSpace:     {verify: verifyDocSpace, userID: docSpaceUser},
	upstream.KindActiveCollab: {verify: verifyActiveCollab, userID: activeCollabUser},
}

// serveWebhook purges the user an event of the provider is about.
func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request) {
	src, ok := s.sources[r.PathValue("upstream")]
	if !ok {
		writeError(w, errUnknownUpstream)
		return
	}
	scheme, ok := webhookSchemes[src.cfg.Kind]
	if !ok {
		writeError(w, &requestError{status: http.StatusNotFound, msg: fmt.Sprintf(
			"upstream %s is of kind %s, which sends no webhooks; use POST /purge/%s/{user_id}", src.name, src.cfg.Kind, src.name)})
		return
	}
	secret := src.cfg.WebhookSecret
	if secret == "" {
		// Closed, not open: anyone could otherwise purge at will.
		s.log.Warn("webhook refused: the upstream has no webhook_secret", "upstream", src.name)
		webhookUnauthorized(w)
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			writeError(w, &requestError{status: http.StatusRequestEntityTooLarge, msg: "body: larger than 1 MiB"})
			return
		}
		writeError(w, badRequest("body: %v", err))
		return
	}
	if !authenticWebhook(scheme, r.Header, body, secret) {
		webhookUnauthorized(w)
		return
	}

	userID, err := scheme.userID(body)
	if err != nil {
		writeError(w, err)
		return
	}
	if userID != "" {
		s.Invalidate(r.Context(), src.name, userID, "webhook")
	}
	// Also for events we ignore: anything but 2xx makes providers retry.
	w.WriteHeader(http.StatusNoContent)
}

func webhookUnauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="avatarproxy"`)
	writeError(w, errUnauthorized)
}

// authenticWebhook applies the provider's scheme when the request carries
// its header, else the bearer alternative.
func authenticWebhook(scheme webhookScheme, h http.Header, body []byte, secret string) bool {
	if present, valid := scheme.verify(h, body, secret); present {
		return valid
	}
	token, ok := cutPrefixFold(h.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), []byte(secret)) == 1
}

// verifyDocSpace checks x-docspace-signature-256: "sha256=" and the hex
// HMAC-SHA256 of the raw body. DocSpace sends upper-case hex; the decoding
// accepts either case.
func verifyDocSpace(h http.Header, body []byte, secret string) (present, valid bool) {
	sig := h.Get("X-Docspace-Signature-256")
	if sig == "" {
		return false, false
	}
	digest, ok := cutPrefixFold(sig, "sha256=")
	if !ok {
		return true, false
	}
	got, err := hex.DecodeString(digest)
	if err != nil {
		return true, false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return true, hmac.Equal(got, mac.Sum(nil))
}

// verifyActiveCollab checks X-Angie-WebhookSecret, which ActiveCollab sends
// on every delivery, empty when the webhook has no secret.
func verifyActiveCollab(h http.Header, _ []byte, secret string) (present, valid bool) {
	got := h.Values("X-Angie-WebhookSecret")
	if len(got) == 0 {
		return false, false
	}
	return true, len(got) == 1 && subtle.ConstantTimeCompare([]byte(got[0]), []byte(secret)) == 1
}

// docSpaceUser reads a DocSpace delivery:
//
//	{"event": {"id": 1, "createOn": "...", "createBy": "...", "trigger": "user.updated", ...},
//	 "payload": {"id": "<user guid>", "userName": "...", ...},
//	 "webhook": {"id": 1, "name": "...", ...}}
func docSpaceUser(body []byte) (string, error) {
	var msg struct {
		Event struct {
			Trigger string `json:"trigger"`
		} `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return "", notAWebhook("DocSpace", err)
	}
	switch msg.Event.Trigger {
	case "":
		return "", badRequest("event.trigger: missing")
	case "user.updated":
		return payloadUserID(msg.Payload)
	}
	return "", nil
}

// activeCollabUser reads an ActiveCollab delivery:
//
//	{"type": "UserUpdated", "payload": {"id": 42, "class": "Member", ...},
//	 "timestamp": 1700000000, "instance_id": 1}
func activeCollabUser(body []byte) (string, error) {
	var msg struct {
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return "", notAWebhook("ActiveCollab", err)
	}
	switch msg.Type {
	case "":
		return "", badRequest("type: missing")
	case "UserUpdated":
		return payloadUserID(msg.Payload)
	}
	return "", nil
}

// payloadUserID reads payload.id, a string (DocSpace's GUIDs) or a positive
// integer (ActiveCollab's ids), which becomes its decimal form.
func payloadUserID(payload json.RawMessage) (string, error) {
	var user struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(payload, &user); err != nil || len(user.ID) == 0 {
		return "", badRequest("payload.id: missing")
	}
	var s string
	if err := json.Unmarshal(user.ID, &s); err == nil && s != "" {
		return s, nil
	}
	var n int64
	if err := json.Unmarshal(user.ID, &n); err == nil && n > 0 {
		return strconv.FormatInt(n, 10), nil
	}
	return "", badRequest("payload.id: not a user id")
}

// notAWebhook explains a body that did not decode. Type errors are not
// repeated: they name Go types, which mean nothing to the sender.
func notAWebhook(provider string, err error) error {
	if syntax := (*json.SyntaxError)(nil); errors.As(err, &syntax) {
		return badRequest("body: invalid JSON: %v", syntax)
	}
	return badRequest("body: not the JSON object of a %s webhook", provider)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
