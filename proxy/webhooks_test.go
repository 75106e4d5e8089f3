package proxy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/color"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/upstream"
)

const (
	dsUser  = "6f1d2b9c-4a7e-4c1f-9d3b-2e8a5c7f0b14"
	dsKey   = "ds-api-key"
	dsHook  = "ds-webhook-secret"
	acHook  = "ac-webhook-secret"
	acToken = "ac-api-token"
)

// postWebhook posts body to /webhooks/{upstream}.
func (h *harness) postWebhook(upstream string, header http.Header, body []byte) *response {
	h.t.Helper()
	header = header.Clone()
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "application/json")
	return h.send(http.MethodPost, "/webhooks/"+upstream, header, bytes.NewReader(body))
}

// docSpaceHarness is a proxy with a DocSpace upstream "ds" over a fake
// DocSpace, whose webhook secret is secret.
func docSpaceHarness(t *testing.T, secret string) (*harness, *fakeprovider.DocSpace) {
	ds := fakeprovidertest.NewDocSpace(t, dsKey)
	h := harnessWith(t, config.Upstream{
		Name: "ds", Kind: upstream.KindDocSpace, BaseURL: ds.URL(), APIKey: dsKey, WebhookSecret: secret,
	})
	return h, ds
}

// activeCollabHarness is a proxy with an ActiveCollab upstream "ac" over a
// fake ActiveCollab, whose webhook secret is secret.
func activeCollabHarness(t *testing.T, secret string) (*harness, *fakeprovider.ActiveCollab) {
	ac := fakeprovidertest.NewActiveCollab(t, acToken)
	h := harnessWith(t, config.Upstream{
		Name: "ac", Kind: upstream.KindActiveCollab, BaseURL: ac.URL(), Token: acToken, WebhookSecret: secret,
	})
	return h, ac
}

// docSpaceEventIDs numbers the deliveries the tests make, as DocSpace does.
var docSpaceEventIDs atomic.Int64

// docSpaceEvent is a delivery as DocSpace sends it, made now.
func docSpaceEvent(t *testing.T, trigger string, payload any) []byte {
	t.Helper()
	return docSpaceEventAt(t, trigger, payload, docSpaceEventIDs.Add(1), time.Now())
}

// docSpaceEventAt is a delivery with the given event id, made at created.
func docSpaceEventAt(t *testing.T, trigger string, payload any, id int64, created time.Time) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"event": map[string]any{
			"id": id, "createOn": created.UTC().Format("2006-01-02T15:04:05.0000000Z"), "createBy": "a1b2c3d4-0000-4000-8000-000000000001",
			"trigger": trigger, "triggerId": 4,
		},
		"payload": payload,
		"webhook": map[string]any{"id": 3, "name": "avatarproxy", "url": "https://avatars.example.com/webhooks/ds"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func docSpaceUserPayload(id string) map[string]any {
	return map[string]any{"id": id, "userName": "jane.doe", "email": "jane@example.com", "displayName": "Jane Doe"}
}

// activeCollabEvent is a delivery as ActiveCollab sends it.
func activeCollabEvent(t *testing.T, typ string, payload any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "payload": payload, "timestamp": 1747218065, "instance_id": 1})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signDocSpace returns x-docspace-signature-256 as DocSpace writes it:
// "sha256=" and upper-case hex.
func signDocSpace(secret string, body []byte) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return http.Header{"X-Docspace-Signature-256": {"sha256=" + strings.ToUpper(hex.EncodeToString(mac.Sum(nil)))}}
}

// cacheAvatar fetches path twice and checks that the second answer is a
// cache hit showing want.
func cacheAvatar(h *harness, path string, want color.NRGBA) {
	h.t.Helper()
	h.mustStatus(h.get(path), 200)
	r := h.get(path)
	if r.Header.Get("X-Cache") != "HIT" || !sameColour(pixelAt(h.t, r.body, 5, 5), want) {
		h.t.Fatalf("%s: X-Cache %q, want a HIT of the first avatar", path, r.Header.Get("X-Cache"))
	}
}

// mustBeRefetched checks that path is now a miss showing want.
func mustBeRefetched(h *harness, path string, want color.NRGBA) {
	h.t.Helper()
	r := h.get(path)
	h.mustStatus(r, 200)
	if r.Header.Get("X-Cache") != "MISS" || !sameColour(pixelAt(h.t, r.body, 5, 5), want) {
		h.t.Fatalf("%s: X-Cache %q, want a MISS with the new avatar", path, r.Header.Get("X-Cache"))
	}
}

// mustStillBeCached checks that path is still the cached old avatar.
func mustStillBeCached(h *harness, path string, old color.NRGBA) {
	h.t.Helper()
	r := h.get(path)
	if r.Header.Get("X-Cache") != "HIT" || !sameColour(pixelAt(h.t, r.body, 5, 5), old) {
		h.t.Fatalf("%s: X-Cache %q, want the cached avatar untouched", path, r.Header.Get("X-Cache"))
	}
}

func webhookInvalidations(h *harness, upstream string) string {
	h.t.Helper()
	prefix := fmt.Sprintf(`avatarproxy_invalidations_total{source="webhook",upstream=%q} `, upstream)
	for line := range strings.Lines(metricsText(h)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			return v
		}
	}
	return "0"
}

// makeStale has set give the user an avatar of colour cached, caches it
// at path, then has set change the avatar to colour now.
func makeStale(h *harness, path string, set func(png []byte), cached, now color.NRGBA) {
	h.t.Helper()
	set(testimages.PNG(testimages.Solid(64, 64, cached)))
	cacheAvatar(h, path, cached)
	set(testimages.PNG(testimages.Solid(64, 64, now)))
}

// mustInvalidations checks the count of webhook invalidations of upstream.
func mustInvalidations(h *harness, upstream, want string) {
	h.t.Helper()
	if n := webhookInvalidations(h, upstream); n != want {
		h.t.Errorf("webhook invalidations: %s, want %s", n, want)
	}
}

func TestDocSpaceUserUpdatedPurges(t *testing.T) {
	h, ds := docSpaceHarness(t, dsHook)
	path := "/avatar/ds/" + dsUser + "?size=20&format=png"
	makeStale(h, path, func(png []byte) { ds.SetPhoto(dsUser, png) }, green, red)
	body := docSpaceEvent(t, "user.updated", docSpaceUserPayload(dsUser))
	h.mustStatus(h.postWebhook("ds", signDocSpace(dsHook, body), body), 204)

	mustBeRefetched(h, path, red)
	mustInvalidations(h, "ds", "1")
}

func TestDocSpaceWebhookAuthentication(t *testing.T) {
	h, _ := docSpaceHarness(t, dsHook)
	body := docSpaceEvent(t, "user.updated", docSpaceUserPayload(dsUser))
	// Each accepted delivery is another event: a repeat would be refused.
	lowerBody := docSpaceEvent(t, "user.updated", docSpaceUserPayload(dsUser))
	mac := hmac.New(sha256.New, []byte(dsHook))
	mac.Write(body)
	digest := hex.EncodeToString(mac.Sum(nil))
	mac.Reset()
	mac.Write(lowerBody)
	lowerDigest := hex.EncodeToString(mac.Sum(nil))
	sig := func(v string) http.Header { return http.Header{"X-Docspace-Signature-256": {v}} }

	cases := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"no credentials", nil, 401},
		{"other secret", signDocSpace("not-the-secret", body), 401},
		{"other body", signDocSpace(dsHook, append([]byte(" "), body...)), 401},
		{"no sha256= prefix", sig(digest), 401},
		{"not hex", sig("sha256=" + strings.Repeat("zz", 32)), 401},
		{"truncated", sig("sha256=" + digest[:32]), 401},
		{"empty key signature", signDocSpace("", body), 401},
		{"wrong bearer", http.Header{"Authorization": {"Bearer nope"}}, 401},
		{"bad signature, good bearer", http.Header{
			"X-Docspace-Signature-256": {"sha256=" + strings.Repeat("0", 64)}, "Authorization": {"Bearer " + dsHook},
		}, 401},
		{"upper-case hex", signDocSpace(dsHook, body), 204},
		{"lower-case hex", sig("sha256=" + lowerDigest), 204},
		{"bearer", http.Header{"Authorization": {"Bearer " + dsHook}}, 204},
	}
	accepted := 0
	for _, c := range cases {
		b := body
		if c.name == "lower-case hex" {
			b = lowerBody
		}
		r := h.postWebhook("ds", c.header, b)
		if r.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d (%q)", c.name, r.StatusCode, c.want, r.body)
		}
		if c.want == 401 && r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
		if c.want == 204 {
			accepted++
		}
	}
	if n := webhookInvalidations(h, "ds"); n != fmt.Sprint(accepted) {
		t.Errorf("webhook invalidations: %s, want %d, one per accepted delivery", n, accepted)
	}
}

// Without a configured secret the endpoint is closed, whatever is sent:
// an empty secret must not make an empty credential valid.
func TestWebhookWithoutSecretIsClosed(t *testing.T) {
	h, _ := docSpaceHarness(t, "")
	body := docSpaceEvent(t, "user.updated", docSpaceUserPayload(dsUser))
	for _, header := range []http.Header{
		nil,
		signDocSpace("", body),
		{"Authorization": {"Bearer "}},
		{"Authorization": {"Bearer"}},
	} {
		h.mustStatus(h.postWebhook("ds", header, body), 401)
	}
	ha, _ := activeCollabHarness(t, "")
	ab := activeCollabEvent(t, "UserUpdated", map[string]any{"id": 42})
	ha.mustStatus(ha.postWebhook("ac", http.Header{"X-Angie-Webhooksecret": {""}}, ab), 401)
	if webhookInvalidations(h, "ds") != "0" || webhookInvalidations(ha, "ac") != "0" {
		t.Error("an unauthenticated webhook invalidated")
	}
}

func TestWebhookUnknownAndUnsupportedUpstreams(t *testing.T) {
	h, _ := docSpaceHarness(t, dsHook)
	body := docSpaceEvent(t, "user.updated", docSpaceUserPayload(dsUser))
	r := h.postWebhook("nope", signDocSpace(dsHook, body), body)
	h.mustStatus(r, 404)
	for _, name := range []string{"web", "local"} {
		r := h.postWebhook(name, http.Header{"Authorization": {"Bearer " + dsHook}}, body)
		h.mustStatus(r, 404)
		if !strings.Contains(string(r.body), "no webhooks") {
			t.Errorf("%s: message %q does not say why", name, r.body)
		}
	}
}

func TestWebhookBodyLimit(t *testing.T) {
	h, _ := docSpaceHarness(t, dsHook)
	// Valid JSON, correctly signed, one byte over the limit.
	body := []byte(`{"pad":"` + strings.Repeat("x", maxWebhookBody-9) + `"}`)
	if len(body) != maxWebhookBody+1 {
		t.Fatalf("body is %d bytes", len(body))
	}
	h.mustStatus(h.postWebhook("ds", signDocSpace(dsHook, body), body), 413)
}

func TestWebhookBadPayloads(t *testing.T) {
	h, _ := docSpaceHarness(t, dsHook)
	now := fmt.Sprintf(`"id":1,"createOn":%q`, time.Now().UTC().Format(time.RFC3339))
	cases := map[string]struct {
		body, mention string
	}{
		"not JSON":       {`{"event":`, "body"},
		"not an object":  {`[1,2]`, "body"},
		"no trigger":     {`{"event":{` + now + `},"payload":{"id":"x"}}`, "event.trigger"},
		"no payload":     {`{"event":{` + now + `,"trigger":"user.updated"}}`, "payload.id"},
		"no user id":     {`{"event":{` + now + `,"trigger":"user.updated"},"payload":{"userName":"jane"}}`, "payload.id"},
		"empty user id":  {`{"event":{` + now + `,"trigger":"user.updated"},"payload":{"id":""}}`, "payload.id"},
		"object user id": {`{"event":{` + now + `,"trigger":"user.updated"},"payload":{"id":{}}}`, "payload.id"},
		"no event id":    {`{"event":{"createOn":"2025-05-14T10:21:05Z","trigger":"user.updated"},"payload":{"id":"x"}}`, "event.id"},
		"no event time":  {`{"event":{"id":1,"trigger":"user.updated"},"payload":{"id":"x"}}`, "event.createOn"},
	}
	for name, c := range cases {
		body := []byte(c.body)
		// Parsing comes after authentication: unsigned, it is a 401.
		h.mustStatus(h.postWebhook("ds", nil, body), 401)
		r := h.postWebhook("ds", signDocSpace(dsHook, body), body)
		if r.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", name, r.StatusCode)
			continue
		}
		msg := string(r.body)
		if !strings.HasPrefix(msg, c.mention) || strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
			t.Errorf("%s: message %q should be one line starting with %s", name, msg, c.mention)
		}
	}
}

func TestWebhookOtherEventsAreIgnored(t *testing.T) {
	h, ds := docSpaceHarness(t, dsHook)
	path := "/avatar/ds/" + dsUser + "?size=20&format=png"
	makeStale(h, path, func(png []byte) { ds.SetPhoto(dsUser, png) }, green, red)

	for _, body := range [][]byte{
		docSpaceEvent(t, "user.created", docSpaceUserPayload(dsUser)),
		docSpaceEvent(t, "file.updated", map[string]any{"id": 1234, "title": "report.docx", "rootId": 5}),
		docSpaceEvent(t, "room.archived", []any{"not", "an", "object"}),
	} {
		h.mustStatus(h.postWebhook("ds", signDocSpace(dsHook, body), body), 204)
	}
	mustStillBeCached(h, path, green)
	mustInvalidations(h, "ds", "0")
}

func TestActiveCollabUserUpdatedPurges(t *testing.T) {
	h, ac := activeCollabHarness(t, acHook)
	path := "/avatar/ac/42?size=20&format=png"
	makeStale(h, path, func(png []byte) { ac.SetAvatar("42", png) }, green, red)

	user := map[string]any{"id": 42, "class": "Member", "first_name": "Jane", "last_name": "Doe", "email": "jane@example.com"}
	body := activeCollabEvent(t, "UserUpdated", user)
	for _, bad := range []http.Header{
		nil,
		{"X-Angie-Webhooksecret": {""}}, // what ActiveCollab sends for a webhook without a secret
		{"X-Angie-Webhooksecret": {"wrong"}},
		{"X-Angie-Webhooksecret": {"wrong"}, "Authorization": {"Bearer " + acHook}},
		{"X-Angie-Webhooksecret": {acHook, acHook}},
	} {
		h.mustStatus(h.postWebhook("ac", bad, body), 401)
	}
	mustStillBeCached(h, path, green)

	other := activeCollabEvent(t, "TaskCreated", map[string]any{"id": 42, "class": "Task", "name": "Write docs"})
	h.mustStatus(h.postWebhook("ac", http.Header{"X-Angie-Webhooksecret": {acHook}}, other), 204)
	mustStillBeCached(h, path, green)

	h.mustStatus(h.postWebhook("ac", http.Header{"X-Angie-Webhooksecret": {acHook}}, body), 204)
	mustBeRefetched(h, path, red)
	mustInvalidations(h, "ac", "1")
}

func TestActiveCollabBadPayloads(t *testing.T) {
	h, _ := activeCollabHarness(t, acHook)
	auth := http.Header{"X-Angie-Webhooksecret": {acHook}}
	for _, body := range []string{
		`{"type":"UserUpdated"`,
		`{"payload":{"id":42}}`,
		`{"type":"UserUpdated","payload":{"class":"Member"}}`,
		`{"type":"UserUpdated","payload":{"id":4.5}}`,
		`{"type":"UserUpdated","payload":{"id":-3}}`,
		`{"type":"UserUpdated","payload":{"id":0}}`,
		`{"type":"UserUpdated","payload":{"id":null}}`,
		`{"type":"UserUpdated","payload":{"id":99999999999999999999999}}`,
	} {
		if r := h.postWebhook("ac", auth, []byte(body)); r.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", body, r.StatusCode)
		}
	}
}

// The shared-secret alternative works for any kind that takes webhooks.
func TestWebhookBearerAlternative(t *testing.T) {
	h, ac := activeCollabHarness(t, acHook)
	path := "/avatar/ac/7?size=20&format=png"
	makeStale(h, path, func(png []byte) { ac.SetAvatar("7", png) }, blue, green)

	body := activeCollabEvent(t, "UserUpdated", map[string]any{"id": 7, "class": "Member"})
	h.mustStatus(h.postWebhook("ac", http.Header{"Authorization": {"Bearer wrong"}}, body), 401)
	mustStillBeCached(h, path, blue)
	h.mustStatus(h.postWebhook("ac", http.Header{"Authorization": {"Bearer " + acHook}}, body), 204)
	mustBeRefetched(h, path, green)
}

// A captured delivery sent again is refused, whatever the number of
// repeats: one purge only. So are deliveries made too long ago or in the
// future, though their signature is valid.
func TestDocSpaceWebhookReplays(t *testing.T) {
	h, ds := docSpaceHarness(t, dsHook)
	ds.SetPhoto(dsUser, testimages.PNG(testimages.Solid(64, 64, green)))
	body := docSpaceEvent(t, "user.updated", docSpaceUserPayload(dsUser))
	sig := signDocSpace(dsHook, body)
	h.mustStatus(h.postWebhook("ds", sig, body), 204)
	for range 50 {
		r := h.postWebhook("ds", sig, body)
		if r.StatusCode != http.StatusConflict || !strings.HasPrefix(string(r.body), "event.id") {
			t.Fatalf("replay: %d %q, want 409 naming event.id", r.StatusCode, r.body)
		}
	}
	for name, created := range map[string]time.Time{
		"stale":  time.Now().Add(-webhookMaxAge - time.Minute),
		"future": time.Now().Add(webhookMaxSkew + time.Minute),
	} {
		old := docSpaceEventAt(t, "user.updated", docSpaceUserPayload(dsUser), docSpaceEventIDs.Add(1), created)
		r := h.postWebhook("ds", signDocSpace(dsHook, old), old)
		if r.StatusCode != 400 || !strings.HasPrefix(string(r.body), "event.createOn") {
			t.Errorf("%s: %d %q, want 400 naming event.createOn", name, r.StatusCode, r.body)
		}
	}
	// Another event about the same user still purges.
	next := docSpaceEvent(t, "user.updated", docSpaceUserPayload(dsUser))
	h.mustStatus(h.postWebhook("ds", signDocSpace(dsHook, next), next), 204)
	mustInvalidations(h, "ds", "2")
}

// The memory of deliveries stays within its byte bound under a flood of
// distinct ids, forgetting the oldest first.
func TestDeliveryMemoryIsBounded(t *testing.T) {
	m := newDeliveryMemory(64 << 10)
	now := time.Now()
	for i := range 100_000 {
		if !m.firstSeen("ds", fmt.Sprint(i), now) {
			t.Fatalf("id %d taken for a repeat", i)
		}
		if m.bytes > m.limit {
			t.Fatalf("%d bytes remembered, limit %d", m.bytes, m.limit)
		}
	}
	if len(m.seen) != len(m.order) || len(m.seen) < 100 {
		t.Fatalf("%d ids in the map, %d in the queue", len(m.seen), len(m.order))
	}
	if m.firstSeen("ds", "99999", now) {
		t.Error("the newest id was forgotten")
	}
	if !m.firstSeen("ds", "0", now) {
		t.Error("the oldest id is still remembered past the bound")
	}
	if !m.firstSeen("ds", "99999", now.Add(webhookMaxAge+webhookMaxSkew)) {
		t.Error("an id is remembered past the freshness window")
	}
}
