package upstream_test

import (
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/upstream"
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

func TestDocSpaceChanges(t *testing.T) {
	upload := changeCase{"POST", "/api/2.0/people/u1/photo", "u1"}
	got := checkChanges(t, upstream.KindDocSpace, []changeCase{
		upload,
		{"PUT", "/api/2.0/people/u1/photo", "u1"},
		{"DELETE", "/api/2.0/people/u1/photo", "u1"},
		{"POST", "/api/2.0/people/u1/photo/thumbnails", "u1"},
		{"GET", "/api/2.0/people/u1/photo", ""},
		{"PUT", "/api/2.0/people/u1/photo/thumbnails", ""},
		{"PUT", "/api/2.0/people/u1", ""},
	})
	confirm := got[upload].ConfirmResponse
	if confirm == nil {
		t.Fatal("an upload needs the response to confirm it: DocSpace refuses inside a 200")
	}
	for body, want := range map[string]bool{
		`{"response":{"success":true,"data":"/storage/u1.png"},"status":0}`: true,
		`{"response":{"success":false,"message":"too big"},"status":0}`:     false,
		`{"response":{}}`:                false,
		`<html>maintenance</html>`:       false,
		`{"response":{"success":true}`:   false,
		`{"response":{"success":"yes"}}`: false,
	} {
		if confirm([]byte(body), false) != want {
			t.Errorf("%s: confirms %v, want %v", body, !want, want)
		}
	}
}
