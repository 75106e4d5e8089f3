package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// specExample is the README's full configuration example, with the file upstream's
// root left as %ROOT% for the test to fill in.
const specExample = `listen: ":8080"
metrics_listen: ""              # empty: /metrics on the main listener
default_avatar: identicon       # 404 | blank | identicon | initials | mp
activecollab_dropin: ""
upstreams:                      # name, kind, and the kind's own keys
  - {name: local, kind: file, root: %ROOT%}
  - {name: box, kind: box, base_url: "https://api.box.com/2.0", token: "${BOX_TOKEN}", passthrough_prefix: /box}
  - {name: ds, kind: docspace, base_url: "https://docspace.example.com", api_key: "${DS_KEY}"}
  - {name: ac, kind: activecollab, base_url: "https://ac.example.com"}
  - {name: grav, kind: gravatar, base_url: "https://gravatar.com"}
  - {name: cdn, kind: http, url_template: "https://origin.example.com/a/{user_id}.png"}
cache:
  max_bytes: 256MiB             # ristretto, cost = bytes
  ttl: 1h                       # then revalidate, serving stale meanwhile
  negative_ttl: 1m
  browser_ttl: 5m
  redis_url: ""                 # shared second tier and purge fan-out
resize:
  default_size: 80
  max_size: 1024
  sizes: []
  formats: [webp, avif]
  quality: 80
  max_source_bytes: 10MiB
  max_source_pixels: 40000000
  max_source_decoded_bytes: 160MB
  workers: 0                    # 0: number of CPUs
security:
  signing_key: ""               # its bytes are the HMAC key; empty: URLs unsigned
  previous_signing_keys: []     # still accepted while clients move to the new key
  purge_token: ""
http:
  purge_tag_headers: [Surrogate-Key, Cache-Tag]
  purge_requests: []            # [{method: PURGE, url: "http://varnish:6081/", headers: {xkey-purge: "{tag}"}}]
`

var specEnv = []string{"BOX_TOKEN=box-secret", "DS_KEY=ds-secret"}

func specDocument(t *testing.T) string {
	return strings.Replace(specExample, "%ROOT%", t.TempDir(), 1)
}

// problemsOf returns the problems of err, failing the test unless it is a
// *ValidationError.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v (%T), want a *ValidationError", err, err)
	}
	return verr.Problems
}

// wantProblem fails unless exactly one problem contains want.
func wantProblem(t *testing.T, err error, want string) {
	t.Helper()
	problems := problemsOf(t, err)
	n := 0
	for _, p := range problems {
		if strings.Contains(p, want) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("want one problem containing %q, got:\n%s", want, strings.Join(problems, "\n"))
	}
}

// defaultsDocument states every default in the configuration file's own
// terms, as the README documents them.
const defaultsDocument = `
listen: ":8080"
default_avatar: identicon
shutdown_timeout: 15s
cache: {max_bytes: 256MiB, ttl: 1h, negative_ttl: 1m, browser_ttl: 5m, version_interval: 10s}
resize:
  default_size: 80
  max_size: 1024
  formats: [webp, avif]
  quality: 80
  max_source_bytes: 10MiB
  max_source_pixels: 40000000
  max_source_decoded_bytes: 160MB
http:
  purge_tag_headers: [Surrogate-Key, Cache-Tag]
  deny_networks: ["169.254.0.0/16", "fe80::/10", "224.0.0.0/24", "ff02::/16", "0.0.0.0/32", "::/128"]
`

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(testKinds()); err != nil {
		t.Fatalf("Default().Validate(testKinds()) = %v", err)
	}
	want := &Config{}
	if err := yaml.Unmarshal([]byte(defaultsDocument), want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Default() = %+v\nwant %+v", c, want)
	}
	// Each call is a fresh value: changing one must not change the next.
	c.Resize.Formats[0] = "png"
	if Default().Resize.Formats[0] != "webp" {
		t.Error("Default shares its slices between calls")
	}
}

func TestParseSpecExample(t *testing.T) {
	c, err := Parse([]byte(specDocument(t)), specEnv, testKinds())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(c.Upstreams) != 6 {
		t.Fatalf("got %d upstreams, want 6", len(c.Upstreams))
	}
	box, ok := c.Upstream("box")
	if !ok || box.Token != "box-secret" || box.PassthroughPrefix != "/box" {
		t.Errorf("box upstream = %+v, %v", box, ok)
	}
	if ds, _ := c.Upstream("ds"); ds.APIKey != "ds-secret" {
		t.Errorf("ds api_key = %q, want the expanded ${DS_KEY}", ds.APIKey)
	}
	if got := c.DropinUpstream(); got != "ac" {
		t.Errorf("DropinUpstream() = %q, want the only activecollab upstream", got)
	}
	want := Default()
	want.Upstreams = c.Upstreams
	want.Resize.Sizes = []int{}
	want.Security.PreviousSigningKeys = []string{}
	want.HTTP.PurgeRequests = []PurgeRequest{}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("the example should restate the defaults:\n got %+v\nwant %+v", c, want)
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "avatarproxy.yaml")
	if err := os.WriteFile(path, []byte(specDocument(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, specEnv, testKinds()); err != nil {
		t.Errorf("Load: %v", err)
	}
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil, testKinds())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want os.ErrNotExist", err)
	}
}

func TestParseKeepsDefaultsOfUnsetKeys(t *testing.T) {
	c, err := Parse([]byte("cache:\n  ttl: 2h\nresize:\n  formats: [jpeg]\n"), nil, testKinds())
	if err != nil {
		t.Fatal(err)
	}
	if c.Cache.TTL.D() != 2*time.Hour || c.Cache.MaxBytes != Default().Cache.MaxBytes {
		t.Errorf("cache = %+v, want ttl 2h and the default max_bytes", c.Cache)
	}
	if !slices.Equal(c.Resize.Formats, []string{"jpeg"}) {
		t.Errorf("formats = %v, want the list to replace the default", c.Resize.Formats)
	}
	if c, err := Parse(nil, nil, testKinds()); err != nil || !reflect.DeepEqual(c, Default()) {
		t.Errorf("Parse of an empty document = %+v, %v; want the defaults", c, err)
	}
}

func TestParseYAMLProblems(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown top-level key", "listen: ':1'\nlisten_addr: ':2'\n", "listen_addr: unknown key (line 2)"},
		{"unknown nested key", "cache:\n  max_byte: 1MiB\n", "cache.max_byte: unknown key (line 2)"},
		{"unknown key in flow mapping", "upstreams:\n  - {name: a, kind: file, rooot: /tmp}\n", "upstreams[0].rooot: unknown key (line 2)"},
		{"syntax error", "listen: ':1'\ncache: [\n", "line 2: "},
		{"syntax error on the first line", "a: b: c\n", "line 1: mapping values are not allowed"},
		{"wrong type", "resize:\n  quality: high\n", "resize.quality: cannot unmarshal"},
		{"bad size", "cache:\n  max_bytes: lots\n", `cache.max_bytes: invalid size "lots"`},
		{"negative size", "cache:\n  max_bytes: -1MiB\n", "cache.max_bytes: invalid size \"-1MiB\": must not be negative (line 2)"},
		{"bad duration", "cache:\n  ttl: 90\n", `cache.ttl: invalid duration "90"`},
		{"negative duration", "shutdown_timeout: -1s\n", "shutdown_timeout: invalid duration \"-1s\": must not be negative (line 1)"},
		{"second document", "listen: ':1'\n---\nlisten: ':2'\n", "line 2: a second YAML document"},
		{"duplicate key", "listen: ':1'\nlisten: ':2'\n", `listen: mapping key "listen" already defined at line 1 (line 2)`},
		{"size given a list", "cache:\n  max_bytes: [1]\n", "cache.max_bytes: want a size, not a sequence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), nil, testKinds())
			wantProblem(t, err, tt.want)
		})
	}
}

func TestParseReportsEveryDecodeProblem(t *testing.T) {
	doc := "cache:\n  max_bytes: x\n  ttl: y\nbogus: 1\n"
	_, err := Parse([]byte(doc), nil, testKinds())
	if got := problemsOf(t, err); len(got) != 3 {
		t.Errorf("got %d problems, want 3:\n%s", len(got), strings.Join(got, "\n"))
	}
}

// A value of the wrong type names its key, wherever it stands, and the
// rest of the file is still checked: later values and the rules.
func TestParseReportsWrongTypesByKeyWithEveryOtherProblem(t *testing.T) {
	doc := "cache: {max_bytes: lots, ttl: 5m}\n" +
		"upstreams: [{name: a, kind: http, url_template: 'http://o.test/{user_id}', timeout: soon, header_timeout: [1]}]\n" +
		"resize: {quality: high, max_size: 64, default_size: 80}\n" +
		"listen: ''\n"
	_, err := Parse([]byte(doc), nil, testKinds())
	want := []string{
		`cache.max_bytes: invalid size "lots": want a byte count like 256MiB, 10MB or 1048576 (line 1)`,
		`upstreams[0].timeout: invalid duration "soon": want a duration like 90s, 5m or 1h30m (line 2)`,
		"upstreams[0].header_timeout: want a duration, not a sequence (line 2)",
		"resize.quality: cannot unmarshal !!str `high` into int (line 3)",
		`listen: must be host:port, as in :8080, not ""`,
		"resize.default_size: must not exceed resize.max_size (64)",
	}
	if got := problemsOf(t, err); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A key whose value did not decode is reported once: what the rules say of
// the default it kept would only be noise.
func TestParseReportsABadValueOnce(t *testing.T) {
	doc := "resize:\n  default_size: big\n  max_size: 0\nupstreams:\n  - {name: b, kind: box, base_url: 'https://x.test', token: [t]}\n"
	_, err := Parse([]byte(doc), nil, testKinds())
	wantProblem(t, err, "resize.default_size")
	wantProblem(t, err, "upstreams[0]")
	wantProblem(t, err, "resize.max_size: ")
}

func TestProblemKey(t *testing.T) {
	for problem, want := range map[string]string{
		"cache.max_bytes: must be positive":                            "cache.max_bytes",
		"upstreams[1] (box).token: required for kind box":              "upstreams[1].token",
		"cache.max_bytes (AVATARPROXY_CACHE_MAX_BYTES): invalid":       "cache.max_bytes",
		"resize.quality: cannot unmarshal !!str `x` into int (line 3)": "resize.quality",
		"line 4: mapping values are not allowed":                       "",
		"AVATARPROXY_NOPE: matches no configuration key":               "AVATARPROXY_NOPE",
	} {
		if got := problemKey(problem); got != want {
			t.Errorf("problemKey(%q) = %q, want %q", problem, got, want)
		}
	}
}

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

func TestSize(t *testing.T) {
	checkUnmarshalText(t, "Size", map[string]Size{
		"256MiB":  256 << 20,
		"10MB":    10_000_000,
		"512KiB":  512 << 10,
		"1GiB":    1 << 30,
		"1048576": 1 << 20,
		"0":       0,
		" 2 KiB ": 2048,
	}, []string{"", "-1", "-1MiB", "ten", "10XB", "9223372036854775808", "100EiB", "20000PiB"})
	if got := Size(256 << 20).String(); got != "256 MiB" {
		t.Errorf("String() = %q", got)
	}
}

func TestDuration(t *testing.T) {
	checkUnmarshalText(t, "Duration", map[string]Duration{
		"90s":   Duration(90 * time.Second),
		"5m":    Duration(5 * time.Minute),
		"1h30m": Duration(90 * time.Minute),
		"250ms": Duration(250 * time.Millisecond),
		"0":     0,
	}, []string{"", "90", "-5s", "soon", "1x"})
	if got := Duration(90 * time.Minute).String(); got != "1h30m0s" {
		t.Errorf("String() = %q", got)
	}
}

// checkUnmarshalText fails unless each key of valid decodes to its value
// and each of invalid is refused.
func checkUnmarshalText[T comparable, P interface {
	*T
	UnmarshalText([]byte) error
}](t *testing.T, name string, valid map[string]T, invalid []string) {
	t.Helper()
	for in, want := range valid {
		var v T
		if err := P(&v).UnmarshalText([]byte(in)); err != nil || v != want {
			t.Errorf("%s(%q) = %v, %v; want %v", name, in, v, err, want)
		}
	}
	for _, in := range invalid {
		var v T
		if err := P(&v).UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%s(%q) = %v, want an error", name, in, v)
		}
	}
}

// validConfig returns a configuration with one upstream of every kind that
// passes Validate.
func validConfig(t *testing.T) *Config {
	c := Default()
	c.Upstreams = []Upstream{
		{Name: "local", Kind: "file", Root: t.TempDir()},
		{Name: "cdn", Kind: "http", URLTemplate: "https://origin.test/a/{user_id}.png"},
		{Name: "box", Kind: "box", BaseURL: "https://api.box.com/2.0", Token: "t", PassthroughPrefix: "/box"},
		{Name: "ds", Kind: "docspace", BaseURL: "https://ds.test", APIKey: "k", PassthroughPrefix: "/ds"},
		{Name: "ac", Kind: "activecollab", BaseURL: "https://ac.test"},
		{Name: "grav", Kind: "gravatar", BaseURL: "https://gravatar.com"},
	}
	return c
}

func TestValidate(t *testing.T) {
	if err := validConfig(t).Validate(testKinds()); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	file := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	key16 := "0123456789abcdef"
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" when the change is valid
	}{
		{"listen without port", func(c *Config) { c.Listen = "localhost" }, "listen: must be host:port"},
		{"listen bad port", func(c *Config) { c.Listen = ":http8" }, `listen: port "http8"`},
		{"listen host and port", func(c *Config) { c.Listen = "127.0.0.1:80" }, ""},
		{"metrics_listen bad", func(c *Config) { c.MetricsListen = "9090" }, "metrics_listen: must be host:port"},
		{"metrics_listen same as listen", func(c *Config) { c.MetricsListen = c.Listen }, "metrics_listen: must differ from listen"},
		{"default_avatar", func(c *Config) { c.DefaultAvatar = "robohash" }, "default_avatar: must be one of"},
		{"default_avatar 404", func(c *Config) { c.DefaultAvatar = "404" }, ""},

		{"empty name", func(c *Config) { c.Upstreams[4].Name = "" }, "upstreams[4].name: must not be empty"},
		{"bad name", func(c *Config) { c.Upstreams[4].Name = "Active Collab" }, "upstreams[4] (Active Collab).name: must match [a-z0-9_-]+"},
		{"duplicate name", func(c *Config) { c.Upstreams[5].Name = "ac" }, "upstreams[5] (ac).name: duplicates upstreams[4] (ac)"},
		{"bad kind", func(c *Config) { c.Upstreams[5].Kind = "libravatar" }, "upstreams[5] (grav).kind: must be one of file, http, box, docspace, activecollab, gravatar, not \"libravatar\""},
		{"key of another kind", func(c *Config) { c.Upstreams[2].Root = "/srv" }, "upstreams[2] (box).root: does not apply to kind box"},
		{"required key", func(c *Config) { c.Upstreams[2].Token = "" }, "upstreams[2] (box).token: is required for kind box"},
		{"kind's own check", func(c *Config) { c.Upstreams[0].Root = file }, "upstreams[0] (local).root: " + file + " is not a directory"},
		{"timeout on a kind without", func(c *Config) { c.Upstreams[0].Timeout = Duration(time.Second) }, "upstreams[0] (local).timeout: does not apply"},
		{"base_url missing", func(c *Config) { c.Upstreams[5].BaseURL = "" }, "upstreams[5] (grav).base_url: is required for kind gravatar"},
		{"base_url not http", func(c *Config) { c.Upstreams[2].BaseURL = "ftp://api.box.com" }, "upstreams[2] (box).base_url: must be an absolute http(s) URL"},
		{"base_url without host", func(c *Config) { c.Upstreams[3].BaseURL = "https:///x" }, "upstreams[3] (ds).base_url: must be an absolute http(s) URL"},
		{"base_url with query", func(c *Config) { c.Upstreams[4].BaseURL = "https://ac.test/?a=1" }, "upstreams[4] (ac).base_url: must not have a query"},
		{"negative shutdown_delay", func(c *Config) { c.ShutdownDelay = Duration(-time.Second) }, "shutdown_delay: must not be negative"},
		{"negative timeout", func(c *Config) { c.Upstreams[1].HeaderTimeout = -1 }, "upstreams[1] (cdn).header_timeout: must not be negative"},
		{"prefix without slash", func(c *Config) { c.Upstreams[2].PassthroughPrefix = "box" }, "(box).passthrough_prefix: must start with /"},
		{"prefix root", func(c *Config) { c.Upstreams[2].PassthroughPrefix = "/" }, "(box).passthrough_prefix: must not be /"},
		{"prefix trailing slash", func(c *Config) { c.Upstreams[2].PassthroughPrefix = "/box/" }, "(box).passthrough_prefix: must not end with /"},
		{"prefix unclean", func(c *Config) { c.Upstreams[2].PassthroughPrefix = "/a/../box" }, "(box).passthrough_prefix: must be a clean path"},
		{"prefix on own route", func(c *Config) { c.Upstreams[2].PassthroughPrefix = "/avatar" }, "collides with the proxy's own route /avatar"},
		{"prefix under own route", func(c *Config) { c.Upstreams[2].PassthroughPrefix = "/webhooks/box" }, "collides with the proxy's own route /webhooks"},
		{"prefix on drop-in", func(c *Config) { c.Upstreams[4].PassthroughPrefix = "/proxy.php" }, "collides with the proxy's own route /proxy.php"},
		{"prefix sharing a stem", func(c *Config) { c.Upstreams[2].PassthroughPrefix = "/avatars" }, ""},
		{"prefix twice", func(c *Config) { c.Upstreams[3].PassthroughPrefix = "/box" }, "upstreams[3] (ds).passthrough_prefix: /box overlaps /box of upstreams[2] (box)"},
		{"prefix nested", func(c *Config) { c.Upstreams[3].PassthroughPrefix = "/box/ds" }, "/box/ds overlaps /box of upstreams[2] (box)"},

		{"dropin names activecollab", func(c *Config) { c.ActiveCollabDropin = "ac" }, ""},
		{"dropin unknown", func(c *Config) { c.ActiveCollabDropin = "nope" }, `activecollab_dropin: no upstream is named "nope"`},
		{"dropin wrong kind", func(c *Config) { c.ActiveCollabDropin = "box" }, `activecollab_dropin: upstream "box" is a box upstream, not activecollab`},

		{"max_bytes", func(c *Config) { c.Cache.MaxBytes = 0 }, "cache.max_bytes: must be positive"},
		{"ttl", func(c *Config) { c.Cache.TTL = 0 }, "cache.ttl: must be positive"},
		{"browser_ttl", func(c *Config) { c.Cache.BrowserTTL = 0 }, "cache.browser_ttl: must be positive"},
		{"version_interval", func(c *Config) { c.Cache.VersionInterval = 0 }, "cache.version_interval: must be positive"},
		{"negative_ttl zero", func(c *Config) { c.Cache.NegativeTTL = 0 }, ""},
		{"negative_ttl negative", func(c *Config) { c.Cache.NegativeTTL = -1 }, "cache.negative_ttl: must not be negative"},
		{"redis", func(c *Config) { c.Cache.RedisURL = "redis://localhost:6379/0" }, ""},
		{"rediss", func(c *Config) { c.Cache.RedisURL = "rediss://user:pw@redis.test:6380" }, ""},
		{"redis unix", func(c *Config) { c.Cache.RedisURL = "unix:///run/redis.sock" }, ""},
		{"redis http", func(c *Config) { c.Cache.RedisURL = "http://localhost:6379" }, "cache.redis_url: must be a redis://, rediss:// or unix:// URL"},
		{"redis bare host", func(c *Config) { c.Cache.RedisURL = "localhost:6379" }, "cache.redis_url: must be"},
		{"redis no host", func(c *Config) { c.Cache.RedisURL = "redis:///0" }, "cache.redis_url: must name a host"},
		{"redis unix no path", func(c *Config) { c.Cache.RedisURL = "unix://" }, "cache.redis_url: must name a socket path"},

		{"default_size 0", func(c *Config) { c.Resize.DefaultSize = 0 }, "resize.default_size: must be in 1..4096"},
		{"max_size too big", func(c *Config) { c.Resize.MaxSize = 4097 }, "resize.max_size: must be in 1..4096"},
		{"max_size largest", func(c *Config) { c.Resize.MaxSize = 4096 }, ""},
		{"deny network", func(c *Config) { c.HTTP.DenyNetworks = []string{"10.0.0.0/8", "10.0.0.0/33"} }, `http.deny_networks[1]: "10.0.0.0/33" is not a CIDR range`},
		{"allow network", func(c *Config) { c.HTTP.AllowNetworks = []string{"169.254.169.254"} }, `http.allow_networks[0]: "169.254.169.254" is not a CIDR range`},
		{"networks", func(c *Config) { c.HTTP.DenyNetworks = []string{}; c.HTTP.AllowNetworks = []string{"fd00::/8"} }, ""},
		{"max_size beyond the renderer", func(c *Config) { c.Resize.MaxSize = 8192 }, "resize.max_size: must be in 1..4096"},
		{"default above max", func(c *Config) { c.Resize.MaxSize = 64 }, "resize.default_size: must not exceed resize.max_size (64)"},
		{"size above max", func(c *Config) { c.Resize.Sizes = []int{32, 2048} }, "resize.sizes[1]: 2048 is outside 1..resize.max_size (1024)"},
		{"size zero", func(c *Config) { c.Resize.Sizes = []int{0} }, "resize.sizes[0]: 0 is outside"},
		{"size repeated", func(c *Config) { c.Resize.Sizes = []int{64, 32, 64} }, "resize.sizes[2]: 64 repeats resize.sizes[0]"},
		{"format", func(c *Config) { c.Resize.Formats = []string{"webp", "gif"} }, `resize.formats[1]: must be one of webp, avif, jpeg, png, not "gif"`},
		{"all formats", func(c *Config) { c.Resize.Formats = []string{"png", "jpeg", "avif", "webp"} }, ""},
		{"quality 0", func(c *Config) { c.Resize.Quality = 0 }, "resize.quality: must be in 1..100"},
		{"quality 101", func(c *Config) { c.Resize.Quality = 101 }, "resize.quality: must be in 1..100"},
		{"max_source_bytes", func(c *Config) { c.Resize.MaxSourceBytes = 0 }, "resize.max_source_bytes: must be positive"},
		{"max_source_pixels", func(c *Config) { c.Resize.MaxSourcePixels = 0 }, "resize.max_source_pixels: must be at least 262144 (the default avatars are 262144 pixels)"},
		{"max_source_pixels below the defaults", func(c *Config) { c.Resize.MaxSourcePixels = MinSourcePixels - 1 }, "resize.max_source_pixels: must be at least 262144 (the default avatars are 262144 pixels)"},
		{"max_source_pixels at the defaults", func(c *Config) { c.Resize.MaxSourcePixels = MinSourcePixels }, ""},
		{"max_source_decoded_bytes", func(c *Config) { c.Resize.MaxSourceDecodedBytes = 0 }, "resize.max_source_decoded_bytes: must be at least 1048576 (the default avatars take 1048576 bytes decoded)"},
		{"max_source_decoded_bytes below the defaults", func(c *Config) { c.Resize.MaxSourceDecodedBytes = MinSourceDecodedBytes - 1 }, "resize.max_source_decoded_bytes: must be at least 1048576 (the default avatars take 1048576 bytes decoded)"},
		{"workers", func(c *Config) { c.Resize.Workers = -1 }, "resize.workers: must not be negative"},
		{"queue", func(c *Config) { c.Resize.Queue = -1 }, "resize.queue: must not be negative"},

		{"signing key", func(c *Config) { c.Security.SigningKey = key16 }, ""},
		{"signing key short", func(c *Config) { c.Security.SigningKey = "short" }, "security.signing_key: must be at least 16 bytes"},
		{"previous key short", func(c *Config) {
			c.Security.SigningKey = key16
			c.Security.PreviousSigningKeys = []string{key16, "short"}
		}, "security.previous_signing_keys[1]: must be at least 16 bytes"},
		{"previous key without current", func(c *Config) { c.Security.PreviousSigningKeys = []string{key16} }, "security.previous_signing_keys: set without security.signing_key"},

		{"tag header", func(c *Config) { c.HTTP.PurgeTagHeaders = []string{"Cache-Tag", "Cache Tag"} }, `http.purge_tag_headers[1]: "Cache Tag" is not a valid header field name`},
		{"no tag headers", func(c *Config) { c.HTTP.PurgeTagHeaders = nil }, ""},
		{"purge request", func(c *Config) {
			c.HTTP.PurgeRequests = []PurgeRequest{{Method: "PURGE", URL: "http://varnish:6081/{tag}", Headers: map[string]string{"xkey-purge": "{tag}"}}}
		}, ""},
		{"purge request method", func(c *Config) {
			c.HTTP.PurgeRequests = []PurgeRequest{{Method: "PUR GE", URL: "http://varnish:6081/"}}
		}, "http.purge_requests[0].method: must be an HTTP method"},
		{"purge request without method", func(c *Config) {
			c.HTTP.PurgeRequests = []PurgeRequest{{URL: "http://varnish:6081/"}}
		}, "http.purge_requests[0].method: must be an HTTP method"},
		{"purge request url", func(c *Config) {
			c.HTTP.PurgeRequests = []PurgeRequest{{Method: "POST", URL: "varnish:6081"}}
		}, "http.purge_requests[0].url: must be an absolute http(s) URL"},
		{"purge request header name", func(c *Config) {
			c.HTTP.PurgeRequests = []PurgeRequest{{Method: "POST", URL: "https://cdn.test/", Headers: map[string]string{"x key": "v"}}}
		}, `http.purge_requests[0].headers: "x key" is not a valid header field name`},
		{"purge request header value", func(c *Config) {
			c.HTTP.PurgeRequests = []PurgeRequest{{Method: "POST", URL: "https://cdn.test/", Headers: map[string]string{"X-Key": "a\r\nb"}}}
		}, "http.purge_requests[0].headers.X-Key: must not contain line breaks"},

		{"shutdown_timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.change(c)
			err := c.Validate(testKinds())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("want valid, got:\n%v", err)
				}
				return
			}
			wantProblem(t, err, tt.want)
			if n := len(problemsOf(t, err)); n != 1 {
				t.Errorf("got %d problems, want 1:\n%v", n, err)
			}
		})
	}
}

func TestValidationErrorListsEveryProblem(t *testing.T) {
	c := validConfig(t)
	c.Cache.MaxBytes = 0
	c.Resize.Quality = 0
	c.Upstreams[2].BaseURL = "api.box.com"
	c.Upstreams[2].Root = "/srv"
	err := c.Validate(testKinds())
	want := []string{
		"upstreams[2] (box).root: does not apply to kind box",
		"upstreams[2] (box).base_url: must be an absolute http(s) URL",
		"cache.max_bytes: must be positive",
		"resize.quality: must be in 1..100",
	}
	if got := problemsOf(t, err); !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("Error() is not one line per problem:\n%s", err)
	}
}

func TestParseValidates(t *testing.T) {
	doc := "upstreams:\n  - {name: b, kind: box, base_url: 'https://x.test'}\nresize:\n  quality: 0\n"
	_, err := Parse([]byte(doc), nil, testKinds())
	if got := problemsOf(t, err); len(got) != 2 {
		t.Errorf("want the missing token and the quality, got:\n%s", strings.Join(got, "\n"))
	}
	_, err = Parse([]byte(doc), []string{"AVATARPROXY_UPSTREAMS_B_TOKEN=t", "AVATARPROXY_RESIZE_QUALITY=90"}, testKinds())
	if err != nil {
		t.Errorf("environment overrides should be validated, not the file alone: %v", err)
	}
}

func TestValidateSortsSizes(t *testing.T) {
	c := Default()
	c.Resize.Sizes = []int{256, 32, 64}
	if err := c.Validate(testKinds()); err != nil {
		t.Fatal(err)
	}
	if want := []int{32, 64, 256}; !slices.Equal(c.Resize.Sizes, want) {
		t.Errorf("sizes = %v, want %v", c.Resize.Sizes, want)
	}
}

func TestSizeFor(t *testing.T) {
	open := Resize{}
	if got := open.SizeFor(77); got != 77 {
		t.Errorf("without sizes SizeFor(77) = %d, want 77", got)
	}
	r := Resize{Sizes: []int{128, 32, 64}} // order must not matter
	for requested, want := range map[int]int{1: 32, 32: 32, 33: 64, 64: 64, 100: 128, 128: 128, 500: 128} {
		if got := r.SizeFor(requested); got != want {
			t.Errorf("SizeFor(%d) = %d, want %d", requested, got, want)
		}
	}
}

func TestFormatEnabled(t *testing.T) {
	r := Default().Resize
	if !r.FormatEnabled("webp") || !r.FormatEnabled("avif") || r.FormatEnabled("png") || r.FormatEnabled("") {
		t.Errorf("FormatEnabled disagrees with formats %v", r.Formats)
	}
}

func TestTimeouts(t *testing.T) {
	connect, header, total := Upstream{}.Timeouts()
	if connect != 2*time.Second || header != 5*time.Second || total != 10*time.Second {
		t.Errorf("defaults = %v, %v, %v; want 2s, 5s, 10s", connect, header, total)
	}
	u := Upstream{ConnectTimeout: Duration(time.Second), Timeout: Duration(time.Minute)}
	connect, header, total = u.Timeouts()
	if connect != time.Second || header != 5*time.Second || total != time.Minute {
		t.Errorf("got %v, %v, %v; want 1s, 5s (default), 1m", connect, header, total)
	}
}

func TestUpstreamLookup(t *testing.T) {
	c := validConfig(t)
	if u, ok := c.Upstream("ds"); !ok || u.Kind != "docspace" {
		t.Errorf("Upstream(ds) = %+v, %v", u, ok)
	}
	if _, ok := c.Upstream("nope"); ok {
		t.Error("Upstream(nope) found something")
	}
}

func TestDropinUpstream(t *testing.T) {
	c := validConfig(t)
	if got := c.DropinUpstream(); got != "ac" {
		t.Errorf("one activecollab upstream: got %q, want ac", got)
	}
	c.Upstreams = append(c.Upstreams, Upstream{Name: "ac2", Kind: "activecollab", BaseURL: "https://ac2.test"})
	if got := c.DropinUpstream(); got != "" {
		t.Errorf("two activecollab upstreams, none chosen: got %q, want none", got)
	}
	c.ActiveCollabDropin = "ac2"
	if got := c.DropinUpstream(); got != "ac2" {
		t.Errorf("chosen: got %q, want ac2", got)
	}
	if got := Default().DropinUpstream(); got != "" {
		t.Errorf("no activecollab upstream: got %q", got)
	}
}
