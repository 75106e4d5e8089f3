package upstream_test

import (
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
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
