package fakeprovider_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// Box's token endpoint on the wire: a form in, a bearer token out, whose
// expires_in rounds the lifetime up to whole seconds; the API takes it
// until it is revoked, then answers 401 with Box's challenge and error.
func TestBoxTokenEndpoint(t *testing.T) {
	box := fakeprovidertest.NewBox(t)
	box.SetApp(fakeprovider.BoxApp{ClientID: "id", ClientSecret: "secret", EnterpriseID: "42", TokenLifetime: 1500 * time.Millisecond})
	box.SetAvatar("7", testimages.SeededPNG("box-token-endpoint", 8, 8))
	exchange := func(fields url.Values) (int, map[string]any) {
		t.Helper()
		status, _, body := call(t, "POST", box.TokenURL(),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader(fields.Encode()))
		var answer map[string]any
		if err := json.Unmarshal(body, &answer); err != nil {
			t.Fatalf("token answer %q: %v", body, err)
		}
		return status, answer
	}
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {"id"}, "client_secret": {"secret"},
		"box_subject_type": {"enterprise"}, "box_subject_id": {"42"}}

	status, answer := exchange(good)
	token, _ := answer["access_token"].(string)
	if status != 200 || token == "" || answer["expires_in"] != 2.0 || answer["token_type"] != "bearer" {
		t.Fatalf("exchange: %d %v, want a bearer token with expires_in 2", status, answer)
	}
	avatar := box.BaseURL() + "/users/7/avatar"
	if status, _, _ := call(t, "GET", avatar, http.Header{"Authorization": {"Bearer " + token}}, nil); status != 200 {
		t.Errorf("avatar with the issued token: %d, want 200", status)
	}
	box.RevokeTokens()
	status, header, body := call(t, "GET", avatar, http.Header{"Authorization": {"Bearer " + token}}, nil)
	if status != 401 || !strings.Contains(header.Get("WWW-Authenticate"), `error="invalid_token"`) || !strings.Contains(string(body), `"code":"unauthorized"`) {
		t.Errorf("revoked token: %d %q %s, want 401 with Box's challenge and error", status, header.Get("WWW-Authenticate"), body)
	}

	for _, tc := range []struct {
		field, value, want string
	}{
		{"client_secret", "wrong", "invalid_grant"},
		{"client_id", "other", "invalid_client"},
		{"box_subject_id", "43", "invalid_grant"},
		{"box_subject_type", "group", "invalid_request"},
		{"grant_type", "password", "unsupported_grant_type"},
	} {
		fields := url.Values{}
		for k, v := range good {
			fields[k] = v
		}
		fields.Set(tc.field, tc.value)
		if status, answer := exchange(fields); status != 400 || answer["error"] != tc.want {
			t.Errorf("%s=%s: %d %v, want 400 %s", tc.field, tc.value, status, answer, tc.want)
		}
	}
	if n := box.Count(fakeprovider.BoxToken); n != 6 {
		t.Errorf("%d token requests counted, want 6", n)
	}
}

// DocSpace's login on the wire: the session token works bare, until it
// expires at the instant response.expires names.
func TestDocSpaceAuthentication(t *testing.T) {
	ds := fakeprovidertest.NewDocSpace(t, "key")
	ds.AddAccount("ann", "pw")
	ds.SetTokenLifetime(time.Hour)
	ds.AddPerson("u1", "Ann", "Lee")
	login := func(body string) (int, map[string]any) {
		t.Helper()
		status, _, raw := call(t, "POST", ds.URL()+"/api/2.0/authentication",
			http.Header{"Content-Type": {"application/json"}}, strings.NewReader(body))
		var answer map[string]any
		if err := json.Unmarshal(raw, &answer); err != nil {
			t.Fatalf("login answer %q: %v", raw, err)
		}
		return status, answer
	}
	before := time.Now()
	status, answer := login(`{"userName": "ann", "password": "pw"}`)
	response, _ := answer["response"].(map[string]any)
	token, _ := response["token"].(string)
	expires, err := time.Parse(time.RFC3339Nano, response["expires"].(string))
	if status != 200 || token == "" || err != nil || expires.Before(before.Add(time.Hour)) {
		t.Fatalf("login: %d %v (%v), want a token expiring in an hour", status, answer, err)
	}
	person := ds.URL() + "/api/2.0/people/u1"
	for auth, want := range map[string]int{token: 200, "key": 200, "Bearer key": 200, "Bearer " + token: 401} {
		if status, _, _ := call(t, "GET", person, http.Header{"Authorization": {auth}}, nil); status != want {
			t.Errorf("Authorization %q: %d, want %d", auth, status, want)
		}
	}
	ds.RevokeTokens()
	if status, _, _ := call(t, "GET", person, http.Header{"Authorization": {token}}, nil); status != 401 {
		t.Errorf("signed-out token: %d, want 401", status)
	}
	if status, answer := login(`{"userName": "ann", "password": "nope"}`); status != 401 || !strings.Contains(toJSON(answer), "User authentication failed") {
		t.Errorf("wrong password: %d %v, want 401 with DocSpace's error", status, answer)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
