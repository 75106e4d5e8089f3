package upstream_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

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
	body := []byte(`{"event":{"trigger":"user.updated"},"payload":{"id":"u1"}}`)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	digest := hex.EncodeToString(mac.Sum(nil))
	sig := func(v string) http.Header { return http.Header{"X-Docspace-Signature-256": {v}} }
	checkVerifyWebhook(t, wr, body, []verifyCase{
		{"none", http.Header{}, false, false},
		{"bearer only", http.Header{"Authorization": {"Bearer s3cret"}}, false, false},
		{"lower-case hex", sig("sha256=" + digest), true, true},
		{"upper-case hex", sig("SHA256=" + strings.ToUpper(digest)), true, true},
		{"no prefix", sig(digest), true, false},
		{"not hex", sig("sha256=" + strings.Repeat("zz", 32)), true, false},
		{"truncated", sig("sha256=" + digest[:32]), true, false},
	})
	if _, valid := wr.VerifyWebhook(sig("sha256="+digest), append(body, ' '), "s3cret"); valid {
		t.Error("a signature of another body is valid")
	}
	if _, valid := wr.VerifyWebhook(sig("sha256="+digest), body, "other"); valid {
		t.Error("a signature with another secret is valid")
	}

	checkWebhookUser(t, wr, map[string]string{
		string(body): "u1",
		`{"event":{"trigger":"user.created"},"payload":{"id":"u1"}}`: "",
		`{"event":{"trigger":"room.archived"},"payload":[1]}`:        "",
	}, map[string]string{
		`{"event":`:                            "body: invalid JSON",
		`[1,2]`:                                "body: not the JSON object",
		`{"payload":{"id":"x"}}`:               "event.trigger: missing",
		`{"event":{"trigger":"user.updated"}}`: "payload.id: missing",
		`{"event":{"trigger":"user.updated"},"payload":{"id":""}}`: "payload.id: not a user id",
		`{"event":{"trigger":"user.updated"},"payload":{"id":{}}}`: "payload.id: not a user id",
	})
}
