package proxy

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/avatarproxy/avatarproxy/upstream"
)

// maxWebhookBody bounds a webhook delivery; the events we read are a few KiB.
const maxWebhookBody = 1 << 20

// serveWebhook purges the user an event of the provider is about. A
// delivery is authenticated with the upstream's webhook_secret in one of
// two ways:
//
//   - the provider's own scheme, when the request carries its credential
//     (upstream.WebhookReceiver.WebhookCredential);
//   - otherwise "Authorization: Bearer {webhook_secret}", for senders that
//     can set a header but not sign, such as a relay in front of the proxy.
//
// Whatever the headers alone can refuse is refused before the body is
// read. A delivery whose body the provider signs is also refused when it
// is older than webhookMaxAge or repeats one already taken.
//
// An upstream without a webhook_secret accepts no webhooks at all, and an
// upstream whose provider sends none answers 404.
func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request) {
	src, ok := s.providers[r.PathValue("upstream")]
	if !ok {
		writeError(w, errUnknownUpstream)
		return
	}
	receiver, ok := upstream.ProviderOf(src.cfg.Kind).(upstream.WebhookReceiver)
	if !ok {
		writeError(w, &requestError{status: http.StatusNotFound, msg: fmt.Sprintf(
			"upstream %s is of kind %s, which sends no webhooks; use POST /purge/%s/{user_id}", src.name, src.cfg.Kind, src.name)})
		return
	}
	secret := src.cfg.WebhookSecret
	if secret == "" {
		// Closed, not open: anyone could otherwise purge at will.
		s.log.Warn("webhook refused: the upstream has no webhook_secret", "upstream", src.name)
		refuseUnauthorized(w)
		return
	}
	cred := receiver.WebhookCredential(r.Header, secret)
	if cred.Refused || (!cred.Present && !bearerIs(r.Header, secret)) {
		refuseUnauthorized(w)
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
	if cred.Signature != nil && !cred.Signature(body) {
		refuseUnauthorized(w)
		return
	}

	ev, err := receiver.WebhookEvent(body)
	if bad := (*upstream.WebhookError)(nil); errors.As(err, &bad) {
		writeError(w, badRequest("%s", bad.Msg))
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if err := checkUserID(ev.UserID); err != nil {
		writeError(w, err)
		return
	}
	if cred.Signature != nil {
		if err := s.freshDelivery(src.name, ev); err != nil {
			s.log.Warn("webhook refused", "upstream", src.name, "err", err)
			writeError(w, err)
			return
		}
	}
	if ev.UserID != "" {
		s.Invalidate(r.Context(), src.name, ev.UserID, "webhook")
	}
	// Also for events we ignore: anything but 2xx makes providers retry.
	w.WriteHeader(http.StatusNoContent)
}

// freshDelivery refuses a signed delivery made more than webhookMaxAge ago
// or further than webhookMaxSkew ahead, or one whose id was already taken.
// What the provider does not send is not checked. The fields are named as
// DocSpace, the one provider that signs them, names them.
func (s *Server) freshDelivery(upstreamName string, ev upstream.Event) error {
	now := time.Now()
	switch {
	case !ev.Created.IsZero() && ev.Created.Before(now.Add(-webhookMaxAge)):
		return badRequest("event.createOn: older than %v; deliveries are refused after that", webhookMaxAge)
	case !ev.Created.IsZero() && ev.Created.After(now.Add(webhookMaxSkew)):
		return badRequest("event.createOn: more than %v in the future", webhookMaxSkew)
	case ev.ID != "" && !s.deliveries.firstSeen(upstreamName, ev.ID, now):
		return &requestError{status: http.StatusConflict, msg: "event.id: already delivered"}
	}
	return nil
}

// refuseUnauthorized answers a webhook or a purge without valid
// credentials.
func refuseUnauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="avatarproxy"`)
	closeUnread(w)
	writeError(w, errUnauthorized)
}

// closeUnread closes the connection after a refusal, so that the server
// answers at once instead of first reading what is left of the body,
// which an unauthenticated client may drip.
func closeUnread(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
}

// bearerIs reports whether the request carries "Authorization: Bearer
// {secret}".
func bearerIs(h http.Header, secret string) bool {
	token, ok := upstream.CutPrefixFold(h.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), []byte(secret)) == 1
}
