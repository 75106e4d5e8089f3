package upstream_test

import (
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
)

func TestGravatarConfig(t *testing.T) {
	grav := config.Upstream{Name: "grav", Kind: "gravatar", BaseURL: "https://gravatar.com"}
	checkConfigCases(t, grav, []configCase{
		{"valid", nil, ""},
		{"base_url missing", func(u *config.Upstream) { u.BaseURL = "" }, "upstreams[0] (grav).base_url: is required for kind gravatar"},
		{"token", func(u *config.Upstream) { u.Token = "t" }, "upstreams[0] (grav).token: does not apply"},
		{"passthrough_prefix", func(u *config.Upstream) { u.PassthroughPrefix = "/g" }, "passthrough_prefix: does not apply to kind gravatar"},
		{"webhook_secret", func(u *config.Upstream) { u.WebhookSecret = "s" }, "webhook_secret: does not apply to kind gravatar"},
	})
}
