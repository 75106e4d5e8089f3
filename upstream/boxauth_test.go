package upstream_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/upstream"
)

const (
	boxClientID     = "box-client-id"
	boxClientSecret = "box-client-secret/5f2c9a+&"
	boxEnterprise   = "123"
)

// newBoxApp starts a Box fake that issues tokens living lifetime to a
// Client Credentials Grant app, with one avatar, and the upstream that
// fetches it with the app's credentials.
func newBoxApp(t *testing.T, lifetime time.Duration) (*fakeprovider.Box, config.Upstream, []byte) {
	t.Helper()
	box := fakeprovidertest.NewBox(t)
	box.SetApp(fakeprovider.BoxApp{
		ClientID: boxClientID, ClientSecret: boxClientSecret,
		EnterpriseID: boxEnterprise, TokenLifetime: lifetime,
	})
	img := testimages.SeededPNG("box-app-user", 40, 40)
	box.SetAvatar("1001", img)
	cfg := config.Upstream{
		Name: "box", Kind: "box", BaseURL: box.BaseURL(), TokenURL: box.TokenURL(),
		ClientID: boxClientID, ClientSecret: boxClientSecret, EnterpriseID: boxEnterprise,
	}
	return box, cfg, img
}

// avatarTokens returns the tokens the avatar GETs carried, in order of
// first use.
func avatarTokens(reqs []fakeprovider.Request, route string) []string {
	var tokens []string
	for _, r := range reqs {
		if r.Route == route && !slices.Contains(tokens, r.Credential) {
			tokens = append(tokens, r.Credential)
		}
	}
	return tokens
}

// fetchAcrossExpiries fetches the avatar every 50 ms until the provider
// has issued a fifth token, each fetch having to succeed.
func fetchAcrossExpiries(t *testing.T, src upstream.Source, img []byte, issued func() int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // only a hang trips it
	for issued() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("still %d tokens issued after a minute of fetching", issued())
		}
		o := mustFetch(t, src, "1001", upstream.Validators{})
		if !bytes.Equal(o.Body, img) {
			t.Fatalf("got %d bytes, want the avatar", len(o.Body))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fetchBurstAfterRevoking fetches the avatar, has revoke invalidate the
// credentials used, then fetches it 20 times at once: each fetch must
// bring img, on its retry if need be, and the provider must have issued
// credentials twice in all (issued tells how often): the first and one
// renewal for the whole burst.
func fetchBurstAfterRevoking(t *testing.T, src upstream.Source, img []byte, revoke func(), issued func() int) {
	t.Helper()
	mustFetch(t, src, "1001", upstream.Validators{})
	revoke()

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			o, err := fetch(t, src, "1001", upstream.Validators{})
			if err == nil && !bytes.Equal(o.Body, img) {
				err = &upstream.Error{Reason: "wrong bytes"}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("fetch after the credentials were revoked: %v", err)
		}
	}
	if n := issued(); n != 2 {
		t.Errorf("credentials issued %d times, want 2: the first and one renewal for the whole burst", n)
	}
}

// Tokens that expire every 300 ms: fetching goes on across several
// expiries, each expiry costing one exchange.
func TestBoxClientCredentialsAcrossExpiries(t *testing.T) {
	box, cfg, img := newBoxApp(t, 300*time.Millisecond)
	var obs observer
	src := newSource(t, cfg, upstream.Options{Observe: obs.observe})

	fetchAcrossExpiries(t, src, img, func() int { return box.Count(fakeprovider.BoxToken) })
	tokens := avatarTokens(box.Requests(), fakeprovider.BoxGetAvatar)
	if n := box.Count(fakeprovider.BoxToken); n != len(tokens) && n != len(tokens)+1 {
		t.Errorf("%d token requests for %d tokens used, want one each (and one renewed but not used yet)", n, len(tokens))
	}
	if codes := obs.take(); !slices.Contains(codes, "200") || slices.ContainsFunc(codes, func(c string) bool { return c != "200" && c != "401" }) {
		t.Errorf("Observe codes %v, want token exchanges and fetches, 200 or 401", codes)
	}
}

// A revoked token fails 20 fetches at once with 401: one exchange between
// them, and every fetch succeeds on its retry.
func TestBoxRevokedTokenRenewsOnce(t *testing.T) {
	box, cfg, img := newBoxApp(t, time.Hour)
	fetchBurstAfterRevoking(t, newSource(t, cfg, upstream.Options{}), img, box.RevokeTokens,
		func() int { return box.Count(fakeprovider.BoxToken) })
}

func TestBoxClientCredentialsActAsUser(t *testing.T) {
	box, cfg, img := newBoxApp(t, time.Hour)
	cfg.EnterpriseID, cfg.UserID = "", "2002"
	o := mustFetch(t, newSource(t, cfg, upstream.Options{}), "1001", upstream.Validators{})
	if !bytes.Equal(o.Body, img) || box.Count(fakeprovider.BoxToken) != 1 {
		t.Errorf("acting as a user: %d bytes, %d token requests", len(o.Body), box.Count(fakeprovider.BoxToken))
	}
}

// A wrong secret, client or enterprise is an "auth" failure naming Box's reason,
// never a crash, and the secret is in no error.
func TestBoxClientCredentialsRefused(t *testing.T) {
	box, good, _ := newBoxApp(t, time.Hour)
	for _, tc := range []struct {
		name string
		edit func(*config.Upstream)
		want string
	}{
		{"wrong secret", func(c *config.Upstream) { c.ClientSecret = "not-the-secret-77" }, "invalid_grant: Grant credentials are invalid"},
		{"unknown client", func(c *config.Upstream) { c.ClientID = "another-app" }, "invalid_client: The client credentials are invalid"},
		{"wrong enterprise", func(c *config.Upstream) { c.EnterpriseID = "999" }, "invalid_grant"},
	} {
		cfg := good
		tc.edit(&cfg)
		src := newSource(t, cfg, upstream.Options{})
		var err error
		// More refusals than open a circuit: a configuration to fix is no
		// outage, and each fetch says why.
		for range 2 * upstream.DefaultBreakerFailures {
			_, err = fetch(t, src, "1001", upstream.Validators{})
			if r := reasonOf(t, err); r != "auth" {
				t.Fatalf("%s: reason %q, want auth", tc.name, r)
			}
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, cfg.ClientSecret) || strings.Contains(msg, boxClientSecret) {
			t.Errorf("%s: error %q, want Box's %s and no secret", tc.name, msg, tc.want)
		}
	}
	if n := box.Count(fakeprovider.BoxGetAvatar); n != 0 {
		t.Errorf("%d avatar requests without a token, want none", n)
	}
}

// A token endpoint that echoes what it was sent, as error text or as an
// unreadable answer, gets the secret into no error.
func TestBoxTokenErrorsCarryNoSecret(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		sent := r.PostForm.Encode() + " " + r.PostForm.Get("client_secret")
		if r.URL.Query().Has("garbage") {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("%%%" + sent))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "you sent " + sent})
	}))
	t.Cleanup(echo.Close)

	box := fakeprovidertest.NewBox(t)
	for _, tokenURL := range []string{echo.URL + "/oauth2/token", echo.URL + "/oauth2/token?garbage"} {
		cfg := config.Upstream{
			Name: "box", Kind: "box", BaseURL: box.BaseURL(), TokenURL: tokenURL,
			ClientID: boxClientID, ClientSecret: boxClientSecret, UserID: "7",
		}
		_, err := fetch(t, newSource(t, cfg, upstream.Options{}), "1001", upstream.Validators{})
		if err == nil || strings.Contains(err.Error(), boxClientSecret) || strings.Contains(err.Error(), url.QueryEscape(boxClientSecret)) {
			t.Errorf("token_url %s: error %v, want one without the secret", tokenURL, err)
		}
		if r := reasonOf(t, err); r != "auth" {
			t.Errorf("token_url %s: reason %q, want auth", tokenURL, r)
		}
	}
}

// Box takes a fixed token or a Client Credentials Grant app's keys,
// exactly one of them, complete; messages name keys, never values.
func TestBoxCredentialsConfig(t *testing.T) {
	app := config.Upstream{Name: "box", Kind: "box", BaseURL: "https://api.box.com/2.0",
		ClientID: "id", ClientSecret: "s3cr3t-value", EnterpriseID: "123"}
	checkConfigCases(t, app, []configCase{
		{"client credentials", nil, ""},
		{"as a user", func(u *config.Upstream) { u.EnterpriseID, u.UserID = "", "456" }, ""},
		{"token_url", func(u *config.Upstream) { u.TokenURL = "http://127.0.0.1:9/oauth2/token" }, ""},
		{"fixed token", func(u *config.Upstream) { u.ClientID, u.ClientSecret, u.EnterpriseID, u.Token = "", "", "", "t" }, ""},
		{"both", func(u *config.Upstream) { u.Token = "t" },
			"upstreams[0] (box).token: excludes client_id, client_secret, enterprise_id: a fixed token or Client Credentials Grant, not both"},
		{"neither", func(u *config.Upstream) { u.ClientID, u.ClientSecret, u.EnterpriseID = "", "", "" },
			"upstreams[0] (box).token: is required for kind box, or instead client_id, client_secret and enterprise_id or user_id"},
		{"no secret", func(u *config.Upstream) { u.ClientSecret = "" }, "upstreams[0] (box).client_secret: is required with client_id, enterprise_id"},
		{"no client id", func(u *config.Upstream) { u.ClientID = "" }, "upstreams[0] (box).client_id: is required with client_secret, enterprise_id"},
		{"no account", func(u *config.Upstream) { u.EnterpriseID = "" }, "upstreams[0] (box).enterprise_id: or user_id is required"},
		{"two accounts", func(u *config.Upstream) { u.UserID = "456" }, "upstreams[0] (box).user_id: excludes enterprise_id"},
		{"token_url relative", func(u *config.Upstream) { u.TokenURL = "/oauth2/token" }, "upstreams[0] (box).token_url: must be an absolute http(s) URL"},
		{"user_name", func(u *config.Upstream) { u.UserName = "ann" }, "upstreams[0] (box).user_name: does not apply to kind box"},
	})
	noClientID := app
	noClientID.ClientID = ""
	if problems := validate(noClientID); strings.Contains(strings.Join(problems, "\n"), "s3cr3t-value") {
		t.Errorf("a problem carries the secret: %q", problems)
	}
}
