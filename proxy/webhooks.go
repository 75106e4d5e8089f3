package proxy

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/avatarproxy/avatarproxy/upstream"
)

// maxWebhookBody bounds a webhook delivery; the events we read are a few KiB.
const maxWebhookBody = 1 << 20

// serveWebhook purges the user an event of the provider is about. A
// delivery is authenticated with the upstream's webhook_secret in one of
// two ways:
//
//   - the provider's own scheme, when the request carries its credential
//     (upstream.WebhookReceiver.VerifyWebhook);
//   - otherwise "Authorization: Bearer {webhook_secret}", for senders that
//     can set a header but not sign, such as a relay in front of the proxy.
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
	if !authenticWebhook(receiver, r.Header, body, secret) {
		webhookUnauthorized(w)
		return
	}

	userID, err := receiver.WebhookUser(body)
	if bad := (*upstream.WebhookError)(nil); errors.As(err, &bad) {
		writeError(w, badRequest("%s", bad.Msg))
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if err := checkUserID(userID); err != nil {
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
// its credential, else the bearer alternative.
func authenticWebhook(receiver upstream.WebhookReceiver, h http.Header, body []byte, secret string) bool {
	if present, valid := receiver.VerifyWebhook(h, body, secret); present {
		return valid
	}
	token, ok := cutPrefixFold(h.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), []byte(secret)) == 1
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
