package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	env := []string{"TOKEN=s3cret", "EMPTY=", "LISTEN=:9000"}
	doc := "listen: ${LISTEN}\nupstreams:\n  - {name: b, kind: activecollab, base_url: 'https://x.test', token: '${TOKEN}', webhook_secret: 'a$$b$c${EMPTY}'}\n"
	c, err := Parse([]byte(doc), env, testKinds())
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":9000" || c.Upstreams[0].Token != "s3cret" {
		t.Errorf("listen %q, token %q: ${NAME} not expanded", c.Listen, c.Upstreams[0].Token)
	}
	if got := c.Upstreams[0].WebhookSecret; got != "a$b$c" {
		t.Errorf("webhook_secret = %q, want $$ as $, a lone $ kept and a set empty variable allowed", got)
	}

	_, err = Parse([]byte("listen: ${LISTEN}\nsecurity:\n  purge_token: ${NOPE}\n  signing_key: ${BAD-NAME}\nmetrics_listen: ${OPEN\n"), env, testKinds())
	problems := problemsOf(t, err)
	for _, want := range []string{
		"security.purge_token: ${NOPE}: environment variable NOPE is not set (line 3)",
		"security.signing_key: ${BAD-NAME}: not a valid environment variable name (line 4)",
		"metrics_listen: unterminated ${",
	} {
		wantProblem(t, err, want)
	}
	if len(problems) != 3 {
		t.Errorf("want only the expansion problems, got:\n%s", strings.Join(problems, "\n"))
	}
}

func TestEnvOverrides(t *testing.T) {
	doc := `upstreams:
  - {name: my-box, kind: box, base_url: "https://api.box.com/2.0", token: from-file}
  - {name: ds, kind: docspace, base_url: "https://ds.test", api_key: from-file}
http:
  purge_requests:
    - {method: PURGE, url: "http://varnish.test/", headers: {xkey-purge: "{tag}"}}
`
	env := []string{
		"PATH=/bin", // not ours: ignored
		"AVATARPROXY_CACHE_MAX_BYTES=64MiB",
		"AVATARPROXY_CACHE_TTL=90s",
		"AVATARPROXY_RESIZE_SIZES=128, 32,64",
		"AVATARPROXY_RESIZE_FORMATS=",
		"AVATARPROXY_RESIZE_MAX_SOURCE_PIXELS=300000",
		"AVATARPROXY_RESIZE_MAX_SOURCE_DECODED_BYTES=100MB",
		"AVATARPROXY_SHUTDOWN_TIMEOUT=3s",
		"AVATARPROXY_UPSTREAMS_0_TOKEN=by-index",
		"AVATARPROXY_UPSTREAMS_DS_API_KEY=by-name",
		"AVATARPROXY_HTTP_PURGE_REQUESTS_0_HEADERS_XKEY_PURGE=avatar",
	}
	c, err := Parse([]byte(doc), env, testKinds())
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"cache.max_bytes", c.Cache.MaxBytes, Size(64 << 20)},
		{"cache.ttl", c.Cache.TTL, Duration(90 * time.Second)},
		{"resize.sizes", c.Resize.Sizes, []int{32, 64, 128}},
		{"resize.formats", c.Resize.Formats, []string{}},
		{"resize.max_source_pixels", c.Resize.MaxSourcePixels, int64(300000)},
		{"resize.max_source_decoded_bytes", c.Resize.MaxSourceDecodedBytes, Size(100_000_000)},
		{"shutdown_timeout", c.ShutdownTimeout, Duration(3 * time.Second)},
		{"upstreams[0].token", c.Upstreams[0].Token, "by-index"},
		{"upstreams[1].api_key", c.Upstreams[1].APIKey, "by-name"},
		{"purge header", c.HTTP.PurgeRequests[0].Headers["xkey-purge"], "avatar"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if c.Upstreams[0].BaseURL != "https://api.box.com/2.0" {
		t.Errorf("an override changed a key it does not name")
	}

	// An upstream name with non-alphanumerics is reached in upper snake case.
	c, err = Parse([]byte(doc), []string{"AVATARPROXY_UPSTREAMS_MY_BOX_TOKEN=by-name"}, testKinds())
	if err != nil || c.Upstreams[0].Token != "by-name" {
		t.Errorf("by name with a dash: token %q, err %v", c.Upstreams[0].Token, err)
	}
}

func TestEnvOverrideProblems(t *testing.T) {
	doc := "upstreams:\n  - {name: box, kind: box, base_url: 'https://x.test', token: t}\n"
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"unknown variable", []string{"AVATARPROXY_CACHE_MAXBYTES=1"}, "AVATARPROXY_CACHE_MAXBYTES: matches no configuration key"},
		{"prefix of a key", []string{"AVATARPROXY_CACHE_MAX=1"}, "AVATARPROXY_CACHE_MAX: matches no configuration key"},
		{"index out of range", []string{"AVATARPROXY_UPSTREAMS_1_TOKEN=x"}, "AVATARPROXY_UPSTREAMS_1_TOKEN: matches no configuration key"},
		{"bad size", []string{"AVATARPROXY_CACHE_MAX_BYTES=big"}, `cache.max_bytes (AVATARPROXY_CACHE_MAX_BYTES): invalid size "big"`},
		{"bad list item", []string{"AVATARPROXY_RESIZE_SIZES=32,x"}, `resize.sizes (AVATARPROXY_RESIZE_SIZES): item 1: invalid integer "x"`},
		{"bad integer", []string{"AVATARPROXY_RESIZE_QUALITY=9999999999999999999"}, "resize.quality (AVATARPROXY_RESIZE_QUALITY): invalid integer"},
		{"same key twice", []string{"AVATARPROXY_UPSTREAMS_0_TOKEN=a", "AVATARPROXY_UPSTREAMS_BOX_TOKEN=b"},
			"upstreams[0].token: set by both AVATARPROXY_UPSTREAMS_0_TOKEN and AVATARPROXY_UPSTREAMS_BOX_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(doc), tt.env, testKinds())
			wantProblem(t, err, tt.want)
		})
	}

	// Names "a-b" and "a_b" both read A_B in a variable name.
	twins := "upstreams:\n  - {name: a-b, kind: gravatar, base_url: 'https://g.test'}\n  - {name: a_b, kind: gravatar, base_url: 'https://g.test'}\n"
	_, err := Parse([]byte(twins), []string{"AVATARPROXY_UPSTREAMS_A_B_BASE_URL=https://h.test"}, testKinds())
	wantProblem(t, err, "AVATARPROXY_UPSTREAMS_A_B_BASE_URL: ambiguous, matches upstreams[0].base_url and upstreams[1].base_url")
}

func TestSetScalarBool(t *testing.T) {
	var b bool
	v := reflect.ValueOf(&b).Elem()
	if err := setScalar(v, "true"); err != nil || !b {
		t.Errorf("setScalar(true) = %v, %v", b, err)
	}
	if err := setScalar(v, "maybe"); err == nil {
		t.Error("setScalar(maybe) on a bool: want an error")
	}
}
