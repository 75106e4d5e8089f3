package upstream_test

import (
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
)

func TestHTTPConfig(t *testing.T) {
	cdn := config.Upstream{Name: "cdn", Kind: "http", URLTemplate: "https://origin.test/a/{user_id}.png"}
	checkConfigCases(t, cdn, []configCase{
		{"valid", nil, ""},
		{"in the query", func(u *config.Upstream) { u.URLTemplate = "https://origin.test/a?u={user_id}" }, ""},
		{"template missing", func(u *config.Upstream) { u.URLTemplate = "" }, "upstreams[0] (cdn).url_template: is required"},
		{"template without user", func(u *config.Upstream) { u.URLTemplate = "https://origin.test/a.png" }, "upstreams[0] (cdn).url_template: must contain {user_id}"},
		{"template relative", func(u *config.Upstream) { u.URLTemplate = "/a/{user_id}.png" }, "upstreams[0] (cdn).url_template: must be an absolute http(s) URL"},
		{"passthrough_prefix", func(u *config.Upstream) { u.PassthroughPrefix = "/cdn" }, "upstreams[0] (cdn).passthrough_prefix: does not apply to kind http"},
		{"negative timeout", func(u *config.Upstream) { u.HeaderTimeout = -1 }, "upstreams[0] (cdn).header_timeout: must not be negative"},
	})
}
