package upstream_test

import (
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
)

func TestGravatarConfig(t *testing.T) {
	grav := config.Upstream{Name: "grav", Kind: "gravatar", BaseURL: "https://gravatar.com"}
	with := func(change func(u *config.Upstream)) config.Upstream {
		u := grav
		change(&u)
		return u
	}
	checkConfigCases(t, []configCase{
		{"valid", grav, ""},
		{"base_url missing", with(func(u *config.Upstream) { u.BaseURL = "" }), "upstreams[0] (grav).base_url: is required for kind gravatar"},
		{"token", with(func(u *config.Upstream) { u.Token = "t" }), "upstreams[0] (grav).token: does not apply"},
		{"passthrough_prefix", with(func(u *config.Upstream) { u.PassthroughPrefix = "/g" }), "passthrough_prefix: does not apply to kind gravatar"},
		{"webhook_secret", with(func(u *config.Upstream) { u.WebhookSecret = "s" }), "webhook_secret: does not apply to kind gravatar"},
	})
}
