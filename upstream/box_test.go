package upstream_test

import (
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/upstream"
)

func TestBoxConfig(t *testing.T) {
	box := config.Upstream{Name: "box", Kind: "box", BaseURL: "https://api.box.com/2.0", Token: "t"}
	checkConfigCases(t, box, []configCase{
		{"valid", nil, ""},
		{"without token", func(u *config.Upstream) { u.Token = "" }, "upstreams[0] (box).token: is required for kind box"},
		{"root", func(u *config.Upstream) { u.Root = "/srv" }, "upstreams[0] (box).root: does not apply to kind box"},
		{"api_key", func(u *config.Upstream) { u.APIKey = "k" }, "upstreams[0] (box).api_key: does not apply"},
		{"webhook_secret", func(u *config.Upstream) { u.WebhookSecret = "s" }, "upstreams[0] (box).webhook_secret: does not apply"},
		{"passthrough_prefix", func(u *config.Upstream) { u.PassthroughPrefix = "/box" }, ""},
		{"base_url not http", func(u *config.Upstream) { u.BaseURL = "ftp://api.box.com" }, "upstreams[0] (box).base_url: must be an absolute http(s) URL"},
	})
}

func TestBoxChanges(t *testing.T) {
	checkChanges(t, upstream.KindBox, []changeCase{
		{"POST", "/users/1001/avatar", "1001"},
		{"DELETE", "/users/1001/avatar/", "1001"},
		{"POST", "/users/a%2Fb/avatar", "a/b"},
		// Decoded once, as Box decodes it: %2561 is "%61", not "a".
		{"POST", "/users/%2561lice/avatar", "%61lice"},
		{"POST", "/users/%61lice/avatar", "alice"},
		// Whatever Box may route to the avatar purges.
		{"POST", "/users/1001/AVATAR", "1001"},
		{"POST", "/Users/1001/Avatar", "1001"},
		{"POST", "/users/1001/avatar;v=1", "1001"},
		{"POST", "/users/1001/%61vatar", "1001"},
		{"POST", "/users/1001;x=y/avatar", "1001;x=y 1001"},
		{"POST", "//users//1001//avatar", "1001"},
		{"POST", "/users/01001/avatar", "01001 1001"},
		{"POST", "/users/1001/avatar%2F", ""},
		{"POST", "/users/1001/avatars", ""},
		{"POST", "/users/%zz/avatar", ""},
		{"GET", "/users/1001/avatar", ""},
		{"PUT", "/users/1001/avatar", ""},
		{"POST", "/users/1001", ""},
		{"POST", "/users//avatar", ""},
		{"POST", "/files/1001/avatar", ""},
	})
}
