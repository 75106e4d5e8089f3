package upstream

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/failure"
)

// KindDocSpace is ONLYOFFICE DocSpace.
const KindDocSpace = "docspace"

// defaultPhotoPrefix starts the file name of the stock picture DocSpace
// reports for a user who has not set a photo.
const defaultPhotoPrefix = "default_user_photo_size_"

// docSpaceProvider is ONLYOFFICE DocSpace.
type docSpaceProvider struct{}

func (docSpaceProvider) Kind() string { return KindDocSpace }

func (docSpaceProvider) Config() config.KindRules {
	return withDocSpaceCredentials(networkRules(map[string]config.KeyRule{
		"base_url":           {Required: true},
		"passthrough_prefix": {},
		"webhook_secret":     {},
	}))
}

func (docSpaceProvider) newSource(cfg config.Upstream, opt Options) Source {
	baseURL, base := parseBaseURL(cfg)
	fetch := newFetcher(cfg, opt, http.Header{"Accept": {"application/json"}})
	docSpaceAuth(cfg, fetch, base)
	return &docSpaceSource{
		fetch:   fetch,
		baseURL: baseURL,
		base:    base,
		origin:  originOf(baseURL),
	}
}

// RecognizeChange: the people API's photo resource. DocSpace reports a
// refused upload inside a 200, so an upload counts only when the response
// says it succeeded.
//
// User ids are GUIDs, which DocSpace reads in either case: the lower-case
// spelling, which DocSpace itself sends, is purged too.
func (docSpaceProvider) RecognizeChange(method, path string) *Change {
	if ids, ok := matchPath(path, "api", "2.0", "people", "{id}", "photo"); ok {
		switch method {
		case http.MethodPut, http.MethodDelete:
			return &Change{UserIDs: withLowerCase(ids)}
		case http.MethodPost:
			return &Change{UserIDs: withLowerCase(ids), ConfirmResponse: docSpaceSucceeded}
		}
	}
	if ids, ok := matchPath(path, "api", "2.0", "people", "{id}", "photo", "thumbnails"); ok && method == http.MethodPost {
		return &Change{UserIDs: withLowerCase(ids)}
	}
	return nil
}

// withLowerCase adds the lower-case spelling of every id that has upper
// case letters.
func withLowerCase(ids []string) []string {
	for _, id := range ids {
		if lower := strings.ToLower(id); lower != id && !slices.Contains(ids, lower) {
			ids = append(ids, lower)
		}
	}
	return ids
}

// docSpaceSucceeded reads DocSpace's envelope: {"response": {"success": true, ...}}.
func docSpaceSucceeded(head []byte, _ bool) bool {
	var env struct {
		Response struct {
			Success bool `json:"success"`
		} `json:"response"`
	}
	return json.Unmarshal(head, &env) == nil && env.Response.Success
}

// WebhookCredential checks x-docspace-signature-256: "sha256=" and the
// hex HMAC-SHA256 of the raw body, keyed by the webhook's secret key.
// DocSpace sends upper-case hex; the decoding accepts either case. The
// header must be well formed before the body is read.
func (docSpaceProvider) WebhookCredential(h http.Header, secret string) Credential {
	sig := h.Values("X-Docspace-Signature-256")
	if len(sig) == 0 {
		return Credential{}
	}
	digest, ok := CutPrefixFold(sig[0], "sha256=")
	got, err := hex.DecodeString(digest)
	if len(sig) != 1 || !ok || err != nil || len(got) != sha256.Size {
		return Credential{Present: true, Refused: true}
	}
	return Credential{Present: true, Signature: func(body []byte) bool {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		return hmac.Equal(got, mac.Sum(nil))
	}}
}

// WebhookEvent reads a DocSpace delivery, of which user.updated changes an
// avatar:
//
//	{"event": {"id": 1, "createOn": "2025-05-14T10:21:05.0000000Z", "trigger": "user.updated", ...},
//	 "payload": {"id": "<user guid>", "userName": "...", ...},
//	 "webhook": {"id": 1, "name": "...", ...}}
//
// event.id and event.createOn, inside the signed body, identify the
// delivery; both are required.
func (docSpaceProvider) WebhookEvent(body []byte) (Event, error) {
	var msg struct {
		Event struct {
			ID       json.RawMessage `json:"id"`
			CreateOn string          `json:"createOn"`
			Trigger  string          `json:"trigger"`
		} `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return Event{}, notAWebhook("DocSpace", err)
	}
	var ev Event
	switch id := strings.TrimSpace(string(msg.Event.ID)); {
	case id == "" || id == "null":
		return Event{}, badWebhook("event.id: missing")
	case len(id) > 128:
		return Event{}, badWebhook("event.id: longer than 128 bytes")
	default:
		ev.ID = id
	}
	if msg.Event.CreateOn == "" {
		return Event{}, badWebhook("event.createOn: missing")
	}
	created, err := parseDocSpaceTime(msg.Event.CreateOn)
	if err != nil {
		return Event{}, badWebhook("event.createOn: not a date and time")
	}
	ev.Created = created
	switch msg.Event.Trigger {
	case "":
		return Event{}, badWebhook("event.trigger: missing")
	case "user.updated":
		ev.UserID, err = payloadUserID(msg.Payload)
		return ev, err
	}
	return ev, nil
}

// parseDocSpaceTime reads createOn: ISO 8601 with up to seven fractional
// digits, with a zone, or without one meaning UTC.
func parseDocSpaceTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.9999999", s)
}

// docSpaceSource fetches avatars from ONLYOFFICE DocSpace in two steps: the
// people API names the photo's URL, then the photo itself is fetched.
type docSpaceSource struct {
	fetch   *fetcher
	baseURL *url.URL
	base    string
	origin  string
}

// Fetch reads response.original from /api/2.0/people/{id}/photo and
// fetches it. That URL carries a ?hash= that changes with the photo, so it
// serves as the ETag: an unchanged URL is NotModified without a download.
// The photo is fetched only from base_url's own origin, since the API key
// goes with it.
func (s *docSpaceSource) Fetch(ctx context.Context, userID string, cond Validators) (*Original, error) {
	if !isPathSegmentID(userID) {
		return nil, ErrNotFound
	}
	ctx, cancel := s.fetch.withDeadline(ctx)
	defer cancel()

	var photo struct {
		Response struct {
			Original string `json:"original"`
		} `json:"response"`
	}
	if err := s.fetch.getJSON(ctx, s.base+"/api/2.0/people/"+url.PathEscape(userID)+"/photo", &photo); err != nil {
		return nil, err
	}
	if photo.Response.Original == "" {
		return nil, s.fetch.fail(failure.BadResponse, errors.New("photo response names no original"))
	}
	original, err := s.baseURL.Parse(photo.Response.Original)
	if err != nil {
		return nil, s.fetch.fail(failure.BadResponse, fmt.Errorf("original photo URL: %w", err))
	}
	if strings.HasPrefix(path.Base(original.Path), defaultPhotoPrefix) {
		return nil, ErrNotFound
	}
	if originOf(original) != s.origin {
		return nil, s.fetch.fail(failure.ForeignHost, fmt.Errorf("original photo is on %s, not on base_url's host", original.Host))
	}

	version := Validators{ETag: original.String()}
	if cond.ETag == version.ETag {
		return &Original{NotModified: true, Validators: version}, nil
	}
	r, err := s.fetch.get(ctx, version.ETag, Validators{})
	if err != nil {
		return nil, err
	}
	switch r.status {
	case http.StatusOK:
		return &Original{Body: r.body, Validators: version}, nil
	case http.StatusNotFound:
		// The photo went away between the two requests.
		return nil, ErrNotFound
	default:
		return nil, s.fetch.statusError(r)
	}
}

// DisplayName reads response.displayName from /api/2.0/people/{id}.
func (s *docSpaceSource) DisplayName(ctx context.Context, userID string) (string, error) {
	// The keys, displayName, firstName and lastName, match the field
	// names as encoding/json matches them: regardless of case.
	type person struct {
		Response struct{ DisplayName, FirstName, LastName string }
	}
	return readDisplayName(ctx, s.fetch, s.base+"/api/2.0/people/", userID, func(p *person) (string, string, string) {
		return p.Response.DisplayName, p.Response.FirstName, p.Response.LastName
	})
}
