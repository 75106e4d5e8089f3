package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// The binary against a Box fake that issues tokens to a Client Credentials
// Grant app and a DocSpace fake that signs users in: avatars come through
// across a revocation, 20 avatars fetched at once after it cost one token
// exchange, and upstreams with a wrong secret or password serve the
// default image with the reason "auth", the log naming the provider's
// reason and never the secret.
func TestProviderCredentials(t *testing.T) {
	const (
		secret        = "box-secret-in-the-environment-91c3"
		wrongSecret   = "a-wrong-box-secret-4d7e"
		password      = "ds-password-6b0f"
		wrongPassword = "a-wrong-ds-password-e5a2"
	)
	ds := fakeprovidertest.NewDocSpace(t, "")
	ds.AddAccount("avatars", password)
	ds.SetPhoto("u1", testimages.SeededJPEG("ds-login", 64, 64))
	box := fakeprovidertest.NewBox(t)
	box.SetApp(fakeprovider.BoxApp{ClientID: "app", ClientSecret: secret, EnterpriseID: "123", TokenLifetime: time.Hour})
	for i := range 21 {
		box.SetAvatar(fmt.Sprint(1000+i), testimages.SeededJPEG(fmt.Sprint("ccg-", i), 64, 64))
	}
	p := startWithConfig(t, []string{"BOX_CLIENT_SECRET=" + secret, "DS_PASSWORD=" + password}, fmt.Sprintf(`
upstreams:
  - {name: box, kind: box, base_url: %q, token_url: %q, client_id: app, client_secret: "${BOX_CLIENT_SECRET}", enterprise_id: "123"}
  - {name: wrong, kind: box, base_url: %q, token_url: %q, client_id: app, client_secret: %q, enterprise_id: "123"}
  - {name: ds, kind: docspace, base_url: %q, user_name: avatars, password: "${DS_PASSWORD}"}
  - {name: dswrong, kind: docspace, base_url: %q, user_name: avatars, password: %q}
`, box.BaseURL(), box.TokenURL(), box.BaseURL(), box.TokenURL(), wrongSecret, ds.URL(), ds.URL(), wrongPassword))
	client := &http.Client{Timeout: mustNotHang}

	fetchAvatar := func(t *testing.T, path string) error {
		resp, body := get(t, client, p.url+path+"?size=32&format=png")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Avatar-Fallback") != "" {
			return fmt.Errorf("%s: %d, fallback %q: %s", path, resp.StatusCode, resp.Header.Get("X-Avatar-Fallback"), body)
		}
		return nil
	}
	if err := fetchAvatar(t, "/avatar/box/1000"); err != nil {
		t.Fatal(err)
	}
	box.RevokeTokens()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() { errs <- fetchAvatar(t, fmt.Sprint("/avatar/box/", 1001+i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("after the revocation: %v", err)
		}
	}
	if n := box.Count(fakeprovider.BoxToken); n != 2 {
		t.Errorf("%d token requests, want 2: the first token and one renewal for the burst", n)
	}

	if err := fetchAvatar(t, "/avatar/ds/u1"); err != nil {
		t.Errorf("DocSpace with a login: %v", err)
	}

	for _, path := range []string{"/avatar/wrong/1000", "/avatar/dswrong/u1"} {
		resp, _ := get(t, client, p.url+path+"?size=32&format=png")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Avatar-Fallback") != "auth" {
			t.Errorf("%s: %d, X-Avatar-Fallback %q, want the default image for auth", path, resp.StatusCode, resp.Header.Get("X-Avatar-Fallback"))
		}
	}
	logs := p.Output.String()
	for _, reason := range []string{"invalid_grant", "User authentication failed"} {
		if !strings.Contains(logs, reason) {
			t.Errorf("the log does not say %q:\n%s", reason, logs)
		}
	}
	for _, s := range []string{secret, wrongSecret, password, wrongPassword} {
		if strings.Contains(logs, s) {
			t.Errorf("the log carries a secret:\n%s", logs)
		}
	}
}
