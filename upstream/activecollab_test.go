package upstream_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/upstream"
)

func TestActiveCollabConfig(t *testing.T) {
	ac := config.Upstream{Name: "ac", Kind: "activecollab", BaseURL: "https://ac.test"}
	with := func(change func(u *config.Upstream)) config.Upstream {
		u := ac
		change(&u)
		return u
	}
	checkConfigCases(t, []configCase{
		{"valid without token", ac, ""},
		{"token", with(func(u *config.Upstream) { u.Token = "t" }), ""},
		{"passthrough_prefix", with(func(u *config.Upstream) { u.PassthroughPrefix = "/ac" }), ""},
		{"webhook_secret", with(func(u *config.Upstream) { u.WebhookSecret = "s" }), ""},
		{"prefix on the drop-in", with(func(u *config.Upstream) { u.PassthroughPrefix = "/proxy.php" }), "collides with the proxy's own route /proxy.php"},
		{"api_key", with(func(u *config.Upstream) { u.APIKey = "k" }), "upstreams[0] (ac).api_key: does not apply to kind activecollab"},
		{"base_url with query", with(func(u *config.Upstream) { u.BaseURL = "https://ac.test/?a=1" }), "upstreams[0] (ac).base_url: must not have a query"},
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
	for _, c := range []struct {
		name           string
		header         http.Header
		present, valid bool
	}{
		{"none", http.Header{}, false, false},
		{"bearer only", http.Header{"Authorization": {"Bearer s3cret"}}, false, false},
		{"right", http.Header{"X-Angie-Webhooksecret": {"s3cret"}}, true, true},
		{"wrong", http.Header{"X-Angie-Webhooksecret": {"other"}}, true, false},
		{"empty", http.Header{"X-Angie-Webhooksecret": {""}}, true, false},
		{"twice", http.Header{"X-Angie-Webhooksecret": {"s3cret", "s3cret"}}, true, false},
	} {
		present, valid := wr.VerifyWebhook(c.header, []byte(`{}`), "s3cret")
		if present != c.present || valid != c.valid {
			t.Errorf("%s: present %v valid %v, want %v %v", c.name, present, valid, c.present, c.valid)
		}
	}

	for body, want := range map[string]string{
		`{"type":"UserUpdated","payload":{"id":42,"class":"Member"}}`: "42",
		`{"type":"UserUpdated","payload":{"id":"abc"}}`:               "abc",
		`{"type":"TaskCreated","payload":{"id":42}}`:                  "",
	} {
		if got, err := wr.WebhookUser([]byte(body)); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", body, got, err, want)
		}
	}
	for body, mention := range map[string]string{
		`{"type":"UserUpdated"`: "body: invalid JSON",
		`[1]`:                   "body: not the JSON object",
		`{"payload":{"id":42}}`: "type: missing",
		`{"type":"UserUpdated","payload":{"id":4.5}}`:   "payload.id: not a user id",
		`{"type":"UserUpdated","payload":{"id":-3}}`:    "payload.id: not a user id",
		`{"type":"UserUpdated","payload":{"id":null}}`:  "payload.id: not a user id",
		`{"type":"UserUpdated","payload":{"class":""}}`: "payload.id: missing",
	} {
		_, err := wr.WebhookUser([]byte(body))
		var bad *upstream.WebhookError
		if !errors.As(err, &bad) || !strings.HasPrefix(bad.Msg, mention) {
			t.Errorf("%s: %v, want a WebhookError starting %q", body, err, mention)
		}
	}
}
