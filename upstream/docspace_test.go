package upstream_test

import (
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
)

func TestDocSpaceConfig(t *testing.T) {
	ds := config.Upstream{Name: "ds", Kind: "docspace", BaseURL: "https://ds.test", APIKey: "k"}
	with := func(change func(u *config.Upstream)) config.Upstream {
		u := ds
		change(&u)
		return u
	}
	checkConfigCases(t, []configCase{
		{"valid", ds, ""},
		{"without api_key", with(func(u *config.Upstream) { u.APIKey = "" }), "upstreams[0] (ds).api_key: is required for kind docspace"},
		{"token", with(func(u *config.Upstream) { u.Token = "t" }), "upstreams[0] (ds).token: does not apply to kind docspace"},
		{"passthrough_prefix", with(func(u *config.Upstream) { u.PassthroughPrefix = "/ds" }), ""},
		{"webhook_secret", with(func(u *config.Upstream) { u.WebhookSecret = "s" }), ""},
		{"base_url without host", with(func(u *config.Upstream) { u.BaseURL = "https:///x" }), "upstreams[0] (ds).base_url: must be an absolute http(s) URL"},
	})
}
