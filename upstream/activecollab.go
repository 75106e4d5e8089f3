package upstream

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/avatarproxy/avatarproxy/config"
)

// KindActiveCollab is ActiveCollab.
const KindActiveCollab = "activecollab"

// activeCollabProvider is ActiveCollab.
type activeCollabProvider struct{}

func (activeCollabProvider) Kind() string { return KindActiveCollab }

func (activeCollabProvider) Config() config.KindRules {
	return networkRules(map[string]config.KeyRule{
		"base_url":           {Required: true},
		"token":              {}, // X-Angie-AuthApiToken
		"passthrough_prefix": {},
		"webhook_secret":     {},
	})
}

func (activeCollabProvider) newSource(cfg config.Upstream, opt Options) Source {
	_, base := parseBaseURL(cfg)
	header := http.Header{}
	if cfg.Token != "" {
		header.Set("X-Angie-AuthApiToken", cfg.Token)
	}
	return &activeCollabSource{fetch: newFetcher(cfg, opt, header), base: base}
}

// RecognizeChange: a user update that carries an uploaded_avatar_code
// sets the avatar; clear-avatar removes it. ActiveCollab user ids are
// numbers.
func (activeCollabProvider) RecognizeChange(method, path string) *Change {
	if ids, ok := matchPath(path, "api", "v1", "users", "{id}"); ok && method == http.MethodPut {
		return &Change{UserIDs: withCanonicalNumbers(ids), ConfirmRequest: setsActiveCollabAvatar}
	}
	if ids, ok := matchPath(path, "api", "v1", "users", "{id}", "clear-avatar"); ok && method == http.MethodDelete {
		return &Change{UserIDs: withCanonicalNumbers(ids)}
	}
	return nil
}

// setsActiveCollabAvatar reports whether a user update carries an
// uploaded_avatar_code. A body too large to inspect counts as a change:
// a needless purge costs a refetch, a missed one serves an old face.
func setsActiveCollabAvatar(head []byte, truncated bool) bool {
	if truncated {
		return true
	}
	var update struct {
		Code json.RawMessage `json:"uploaded_avatar_code"`
	}
	if err := json.Unmarshal(head, &update); err != nil {
		return false
	}
	code := strings.TrimSpace(string(update.Code))
	return code != "" && code != "null" && code != `""`
}

// WebhookCredential checks X-Angie-WebhookSecret, which ActiveCollab
// sends on every delivery, empty when the webhook has no secret: the
// webhook's secret as it is. It signs nothing, so deliveries carry no
// trusted age or identity.
func (activeCollabProvider) WebhookCredential(h http.Header, secret string) Credential {
	got := h.Values("X-Angie-WebhookSecret")
	if len(got) == 0 {
		return Credential{}
	}
	valid := len(got) == 1 && subtle.ConstantTimeCompare([]byte(got[0]), []byte(secret)) == 1
	return Credential{Present: true, Refused: !valid}
}

// WebhookEvent reads an ActiveCollab delivery, of which UserUpdated may
// change an avatar:
//
//	{"type": "UserUpdated", "payload": {"id": 42, "class": "Member", ...},
//	 "timestamp": 1700000000, "instance_id": 1}
func (activeCollabProvider) WebhookEvent(body []byte) (Event, error) {
	var msg struct {
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return Event{}, notAWebhook("ActiveCollab", err)
	}
	switch msg.Type {
	case "":
		return Event{}, badWebhook("type: missing")
	case "UserUpdated":
		id, err := payloadUserID(msg.Payload)
		return Event{UserID: id}, err
	}
	return Event{}, nil
}

// activeCollabSource fetches avatars from ActiveCollab's avatar proxy,
// which always answers an image: the uploaded avatar or rendered initials.
type activeCollabSource struct {
	fetch *fetcher
	base  string
}

// Fetch gets the 256 pixel avatar, the largest ActiveCollab renders.
// ActiveCollab answers If-None-Match with 304 against its unquoted MD5
// Etag, which is kept exactly as sent; 404 means an unknown user.
func (s *activeCollabSource) Fetch(ctx context.Context, userID string, cond Validators) (*Original, error) {
	if userID == "" {
		return nil, ErrNotFound
	}
	target := s.base + "/proxy.php?proxy=avatar&module=system&user_id=" + url.QueryEscape(userID) + "&size=256"
	return s.fetch.fetchImage(ctx, target, cond)
}

// DisplayName reads the user's display_name from /api/v1/users/{id},
// falling back to first and last name.
func (s *activeCollabSource) DisplayName(ctx context.Context, userID string) (string, error) {
	type user struct {
		Single struct {
			DisplayName string `json:"display_name"`
			FirstName   string `json:"first_name"`
			LastName    string `json:"last_name"`
		} `json:"single"`
	}
	return readDisplayName(ctx, s.fetch, s.base+"/api/v1/users/", userID, func(u *user) (string, string, string) {
		return u.Single.DisplayName, u.Single.FirstName, u.Single.LastName
	})
}
