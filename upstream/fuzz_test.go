package upstream

import (
	"errors"
	"net/http"
	"testing"
)

// FuzzProviderWireFormats feeds every provider's pass-through recogniser
// and webhook reader what a client or a sender may send: none may panic,
// a recognised change names a user, and a body that is no delivery is a
// *WebhookError, the one error the receiver answers 400 for.
func FuzzProviderWireFormats(f *testing.F) {
	f.Add("PUT", "/api/v1/users/42", []byte(`{"uploaded_avatar_code":"abc"}`))
	f.Add("DELETE", "/users/%2561lice/avatar;v=1", []byte(nil))
	f.Add("POST", "/api/2.0/people/6F1E2D3C-0000-4000-8000-000000000001/photo", []byte(`{"response":{"success":true}}`))
	f.Add("POST", "/API/2.0/People//007/Photo/thumbnails", []byte(`{"event":{"id":1,"createOn":"2026-11-30T10:00:00Z","trigger":"user.updated"},"payload":{"id":"x"}}`))
	f.Add("POST", "/api/v1/users/+0042/clear-avatar", []byte(`{"type":"UserUpdated","payload":{"id":42},"timestamp":1700000000}`))
	f.Add("GET", "/%zz/%", []byte(`{"payload":{"id":-1}}`))
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		for _, p := range providers() {
			if r, ok := p.(ChangeRecognizer); ok {
				if ch := r.RecognizeChange(method, path); ch != nil {
					if len(ch.UserIDs) == 0 {
						t.Fatalf("%s: %s %q recognised a change of nobody", p.Kind(), method, path)
					}
					for _, id := range ch.UserIDs {
						if id == "" {
							t.Fatalf("%s: %s %q recognised an empty user id", p.Kind(), method, path)
						}
					}
					for _, check := range []BodyCheck{ch.ConfirmRequest, ch.ConfirmResponse} {
						if check != nil {
							check(body, false)
							check(body, true)
						}
					}
				}
			}
			if w, ok := p.(WebhookReceiver); ok {
				w.WebhookCredential(http.Header{"Authorization": {string(body)}, "X-Angie-Webhooksecret": {path}, "X-Docspace-Signature-256": {path}}, "secret")
				if _, err := w.WebhookEvent(body); err != nil {
					var we *WebhookError
					if !errors.As(err, &we) || we.Msg == "" {
						t.Fatalf("%s: a bad delivery gave %T %v, not a *WebhookError with a message", p.Kind(), err, err)
					}
				}
			}
		}
	})
}
