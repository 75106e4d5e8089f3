package upstream_test

import (
	"net/http"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/upstream"
)

func TestActiveCollabConfig(t *testing.T) {
	ac := config.Upstream{Name: "ac", Kind: "activecollab", BaseURL: "https://ac.test"}
	checkConfigCases(t, ac, []configCase{
		{"valid without token", nil, ""},
		{"token", func(u *config.Upstream) { u.Token = "t" }, ""},
		{"passthrough_prefix", func(u *config.Upstream) { u.PassthroughPrefix = "/ac" }, ""},
		{"webhook_secret", func(u *config.Upstream) { u.WebhookSecret = "s" }, ""},
		{"prefix on the drop-in", func(u *config.Upstream) { u.PassthroughPrefix = "/proxy.php" }, "collides with the proxy's own route /proxy.php"},
		{"api_key", func(u *config.Upstream) { u.APIKey = "k" }, "upstreams[0] (ac).api_key: does not apply to kind activecollab"},
		{"base_url with query", func(u *config.Upstream) { u.BaseURL = "https://ac.test/?a=1" }, "upstreams[0] (ac).base_url: must not have a query"},
	})
}

func TestActiveCollabChanges(t *testing.T) {
	update := changeCase{"PUT", "/api/v1/users/42", "42"}
	got := checkChanges(t, upstream.KindActiveCollab, []changeCase{
		update,
		{"DELETE", "/api/v1/users/42/clear-avatar", "42"},
		{"POST", "/api/v1/users/42", ""},
		{"GET", "/api/v1/users/42/clear-avatar", ""},
		{"PUT", "/api/v1/users/42/projects", ""},
		{"DELETE", "/api/v1/users/%2B42/Clear-Avatar", "+42 42"},
		{"PUT", "/api/v1/users/42;a=b", "42;a=b 42"},
	})
	confirm := got[update].ConfirmRequest
	if confirm == nil {
		t.Fatal("a user update needs its body to confirm a new avatar")
	}
	for body, want := range map[string]bool{
		`{"uploaded_avatar_code":"abc123"}`:         true,
		`{"uploaded_avatar_code":7}`:                true,
		`{"first_name":"Jane"}`:                     false,
		`{"uploaded_avatar_code":null}`:             false,
		`{"uploaded_avatar_code":""}`:               false,
		`{"uploaded_avatar_code":"x"`:               false,
		`{"first_name":"Jane","uploaded_avatar_cod`: false,
	} {
		if confirm([]byte(body), false) != want {
			t.Errorf("%s: confirms %v, want %v", body, !want, want)
		}
	}
	if !confirm([]byte(`{"first_name":"`), true) {
		t.Error("a body too long to read whole must count as a change")
	}
}

func TestActiveCollabWebhooks(t *testing.T) {
	wr := upstream.ProviderOf(upstream.KindActiveCollab).(upstream.WebhookReceiver)
	// ActiveCollab signs nothing: the headers decide.
	checkWebhookCredential(t, wr, nil, []credentialCase{
		{"none", http.Header{}, false, false, false},
		{"bearer only", http.Header{"Authorization": {"Bearer s3cret"}}, false, false, false},
		{"right", http.Header{"X-Angie-Webhooksecret": {"s3cret"}}, true, false, true},
		{"wrong", http.Header{"X-Angie-Webhooksecret": {"other"}}, true, true, false},
		{"empty", http.Header{"X-Angie-Webhooksecret": {""}}, true, true, false},
		{"twice", http.Header{"X-Angie-Webhooksecret": {"s3cret", "s3cret"}}, true, true, false},
	})

	checkWebhookUser(t, wr, map[string]string{
		`{"type":"UserUpdated","payload":{"id":42,"class":"Member"}}`: "42",
		`{"type":"UserUpdated","payload":{"id":"abc"}}`:               "abc",
		`{"type":"TaskCreated","payload":{"id":42}}`:                  "",
	}, map[string]string{
		`{"type":"UserUpdated"`: "body: invalid JSON",
		`[1]`:                   "body: not the JSON object",
		`{"payload":{"id":42}}`: "type: missing",
		`{"type":"UserUpdated","payload":{"id":4.5}}`:   "payload.id: not a user id",
		`{"type":"UserUpdated","payload":{"id":-3}}`:    "payload.id: not a user id",
		`{"type":"UserUpdated","payload":{"id":null}}`:  "payload.id: not a user id",
		`{"type":"UserUpdated","payload":{"class":""}}`: "payload.id: missing",
	})
	ev, err := wr.WebhookEvent([]byte(`{"type":"UserUpdated","payload":{"id":42},"timestamp":1747218065}`))
	if err != nil || ev != (upstream.Event{UserID: "42"}) {
		t.Errorf("%+v, %v: an unsigned delivery carries no trusted id or time", ev, err)
	}
}
