package upstream_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/upstream"
)

const (
	dsUserName = "avatars@example.com"
	dsPassword = "ds-password-8e1f"
)

// newDocSpaceLogin starts a DocSpace fake whose session tokens live
// lifetime, with one photo, and the upstream that signs in to fetch it.
func newDocSpaceLogin(t *testing.T, lifetime time.Duration) (*fakeprovider.DocSpace, config.Upstream, []byte) {
	t.Helper()
	ds := fakeprovidertest.NewDocSpace(t, "")
	ds.AddAccount(dsUserName, dsPassword)
	ds.SetTokenLifetime(lifetime)
	img := testimages.SeededJPEG("ds-login-user", 60, 60)
	ds.SetPhoto("1001", img)
	cfg := config.Upstream{Name: "ds", Kind: "docspace", BaseURL: ds.URL(), UserName: dsUserName, Password: dsPassword}
	return ds, cfg, img
}

// The session tokens expire every 300 ms, a time DocSpace's expires
// states exactly: fetching goes on across several expiries, and every
// request carries a session token, bare.
func TestDocSpaceSessionAcrossExpiries(t *testing.T) {
	ds, cfg, img := newDocSpaceLogin(t, 300*time.Millisecond)
	src := newSource(t, cfg, upstream.Options{})
	fetchAcrossExpiries(t, src, img, func() int { return ds.Count(fakeprovider.DocSpaceAuthenticate) })

	tokens := avatarTokens(ds.Requests(), fakeprovider.DocSpaceGetPhoto)
	if n := ds.Count(fakeprovider.DocSpaceAuthenticate); n != len(tokens) && n != len(tokens)+1 {
		t.Errorf("%d logins for %d tokens used, want one each (and one renewed but not used yet)", n, len(tokens))
	}
	for _, r := range ds.Requests() {
		if r.Route != fakeprovider.DocSpaceAuthenticate && !strings.HasPrefix(r.Credential, "ds-session-") {
			t.Errorf("%s %s carried %q, want a bare session token", r.Method, r.URI, r.Credential)
		}
	}
}

// Signing the sessions out fails 20 fetches at once with 401: one login
// between them, and every fetch succeeds on its retry.
func TestDocSpaceRevokedSessionRenewsOnce(t *testing.T) {
	ds, cfg, img := newDocSpaceLogin(t, time.Hour)
	fetchBurstAfterRevoking(t, newSource(t, cfg, upstream.Options{}), img, ds.RevokeTokens,
		func() int { return ds.Count(fakeprovider.DocSpaceAuthenticate) })
}

func TestDocSpaceWrongPassword(t *testing.T) {
	ds, cfg, _ := newDocSpaceLogin(t, time.Hour)
	cfg.Password = "not-the-password-31"
	src := newSource(t, cfg, upstream.Options{})
	_, err := fetch(t, src, "1001", upstream.Validators{})
	if r := reasonOf(t, err); r != "auth" {
		t.Errorf("reason %q, want auth", r)
	}
	if msg := err.Error(); !strings.Contains(msg, "User authentication failed") || strings.Contains(msg, cfg.Password) {
		t.Errorf("error %q, want DocSpace's reason and no password", msg)
	}
	if n := ds.Count(fakeprovider.DocSpaceGetPhoto); n != 0 {
		t.Errorf("%d photo requests without a session, want none", n)
	}
}

// An API key goes as "Bearer {key}", however it was pasted.
func TestDocSpaceAPIKeyForms(t *testing.T) {
	ds := fakeprovidertest.NewDocSpace(t, "sk-ds-key")
	img := testimages.SeededJPEG("ds-key-user", 60, 60)
	ds.SetPhoto("1001", img)
	for _, pasted := range []string{"sk-ds-key", "Bearer sk-ds-key", "bearer  sk-ds-key ", " sk-ds-key\n"} {
		src := newSource(t, config.Upstream{Kind: "docspace", BaseURL: ds.URL(), APIKey: pasted}, upstream.Options{})
		if o := mustFetch(t, src, "1001", upstream.Validators{}); !bytes.Equal(o.Body, img) {
			t.Errorf("api_key %q: got %d bytes, want the photo", pasted, len(o.Body))
		}
	}
	for _, r := range ds.Requests() {
		if r.Credential != "Bearer sk-ds-key" {
			t.Errorf("%s %s carried %q, want Bearer sk-ds-key", r.Method, r.URI, r.Credential)
		}
	}
}

// DocSpace takes an api_key or a user_name and password, exactly one of
// them, complete.
func TestDocSpaceCredentialsConfig(t *testing.T) {
	login := config.Upstream{Name: "ds", Kind: "docspace", BaseURL: "https://ds.test", UserName: "ann", Password: "pw"}
	checkConfigCases(t, login, []configCase{
		{"login", nil, ""},
		{"both", func(u *config.Upstream) { u.APIKey = "k" }, "upstreams[0] (ds).api_key: excludes password, user_name: an API key or a login, not both"},
		{"neither", func(u *config.Upstream) { u.UserName, u.Password = "", "" },
			"upstreams[0] (ds).api_key: is required for kind docspace, or instead user_name and password"},
		{"no password", func(u *config.Upstream) { u.Password = "" }, "upstreams[0] (ds).password: is required with user_name"},
		{"no user name", func(u *config.Upstream) { u.UserName = "" }, "upstreams[0] (ds).user_name: is required with password"},
		{"client_id", func(u *config.Upstream) { u.ClientID = "id" }, "upstreams[0] (ds).client_id: does not apply to kind docspace"},
	})
}
