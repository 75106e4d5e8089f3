package upstream_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/upstream"
)

func TestDocSpaceConfig(t *testing.T) {
	ds := config.Upstream{Name: "ds", Kind: "docspace", BaseURL: "https://ds.test", APIKey: "k"}
	checkConfigCases(t, ds, []configCase{
		{"valid", nil, ""},
		{"without api_key", func(u *config.Upstream) { u.APIKey = "" }, "upstreams[0] (ds).api_key: is required for kind docspace"},
		{"token", func(u *config.Upstream) { u.Token = "t" }, "upstreams[0] (ds).token: does not apply to kind docspace"},
		{"passthrough_prefix", func(u *config.Upstream) { u.PassthroughPrefix = "/ds" }, ""},
		{"webhook_secret", func(u *config.Upstream) { u.WebhookSecret = "s" }, ""},
		{"base_url without host", func(u *config.Upstream) { u.BaseURL = "https:///x" }, "upstreams[0] (ds).base_url: must be an absolute http(s) URL"},
	})
}

func TestDocSpaceChanges(t *testing.T) {
	upload := changeCase{"POST", "/api/2.0/people/u1/photo", "u1"}
	got := checkChanges(t, upstream.KindDocSpace, []changeCase{
		upload,
		{"PUT", "/api/2.0/people/u1/photo", "u1"},
		{"DELETE", "/api/2.0/people/u1/photo", "u1"},
		{"POST", "/api/2.0/people/u1/photo/thumbnails", "u1"},
		{"GET", "/api/2.0/people/u1/photo", ""},
		{"PUT", "/api/2.0/people/u1/photo/thumbnails", ""},
		{"PUT", "/api/2.0/people/u1", ""},
		{"PUT", "/API/2.0/People/U1/Photo", "U1 u1"},
		{"DELETE", "/api/2%2E0/people/u1/photo;jsessionid=1", "u1"},
	})
	confirm := got[upload].ConfirmResponse
	if confirm == nil {
		t.Fatal("an upload needs the response to confirm it: DocSpace refuses inside a 200")
	}
	for body, want := range map[string]bool{
		`{"response":{"success":true,"data":"/storage/u1.png"},"status":0}`: true,
		`{"response":{"success":false,"message":"too big"},"status":0}`:     false,
		`{"response":{}}`:                false,
		`<html>maintenance</html>`:       false,
		`{"response":{"success":true}`:   false,
		`{"response":{"success":"yes"}}`: false,
	} {
		if confirm([]byte(body), false) != want {
			t.Errorf("%s: confirms %v, want %v", body, !want, want)
		}
	}
}

func TestDocSpaceWebhooks(t *testing.T) {
	wr := upstream.ProviderOf(upstream.KindDocSpace).(upstream.WebhookReceiver)
	body := []byte(`{"event":{"id":7,"createOn":"2025-05-14T10:21:05.0000000Z","trigger":"user.updated"},"payload":{"id":"u1"}}`)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	digest := hex.EncodeToString(mac.Sum(nil))
	sig := func(v string) http.Header { return http.Header{"X-Docspace-Signature-256": {v}} }
	checkWebhookCredential(t, wr, body, []credentialCase{
		{"none", http.Header{}, false, false, false},
		{"bearer only", http.Header{"Authorization": {"Bearer s3cret"}}, false, false, false},
		{"lower-case hex", sig("sha256=" + digest), true, false, true},
		{"upper-case hex", sig("SHA256=" + strings.ToUpper(digest)), true, false, true},
		{"no prefix", sig(digest), true, true, false},
		{"not hex", sig("sha256=" + strings.Repeat("zz", 32)), true, true, false},
		{"truncated", sig("sha256=" + digest[:32]), true, true, false},
		{"twice", http.Header{"X-Docspace-Signature-256": {"sha256=" + digest, "sha256=" + digest}}, true, true, false},
	})
	if wr.WebhookCredential(sig("sha256="+digest), "s3cret").Signature(append(body, ' ')) {
		t.Error("a signature of another body is valid")
	}
	if wr.WebhookCredential(sig("sha256="+digest), "other").Signature(body) {
		t.Error("a signature with another secret is valid")
	}

	ev, err := wr.WebhookEvent(body)
	if want := time.Date(2025, 5, 14, 10, 21, 5, 0, time.UTC); err != nil || ev.UserID != "u1" || ev.ID != "7" || !ev.Created.Equal(want) {
		t.Errorf("%s: %+v, %v; want user u1, id 7, created %v", body, ev, err, want)
	}
	const head = `"id":"e-1","createOn":"2025-05-14T12:21:05.1234567+02:00"`
	checkWebhookUser(t, wr, map[string]string{
		string(body): "u1",
		`{"event":{` + head + `,"trigger":"user.created"},"payload":{"id":"u1"}}`: "",
		`{"event":{` + head + `,"trigger":"room.archived"},"payload":[1]}`:        "",
	}, map[string]string{
		`{"event":`: "body: invalid JSON",
		`[1,2]`:     "body: not the JSON object",
		`{"event":{` + head + `},"payload":{"id":"x"}}`:                          "event.trigger: missing",
		`{"event":{"createOn":"2025-05-14T10:21:05Z","trigger":"user.updated"}}`: "event.id: missing",
		`{"event":{"id":1,"trigger":"user.updated"}}`:                            "event.createOn: missing",
		`{"event":{"id":1,"createOn":"yesterday","trigger":"user.updated"}}`:     "event.createOn: not a date",
		`{"event":{` + head + `,"trigger":"user.updated"}}`:                      "payload.id: missing",
		`{"event":{` + head + `,"trigger":"user.updated"},"payload":{"id":""}}`:  "payload.id: not a user id",
		`{"event":{` + head + `,"trigger":"user.updated"},"payload":{"id":{}}}`:  "payload.id: not a user id",
	})
}
