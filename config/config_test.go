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
max_connections: 1024
body_timeout: 10s
passthrough_body_timeout: 5m
cache: {max_bytes: 256MiB, ttl: 1h, negative_ttl: 1m, browser_ttl: 5m, version_interval: 10s, redis_max_value_bytes: 1MiB, redis_timeout: 50ms}
resize:
  default_size: 80
  max_size: 1024
  formats: [webp, avif]
  quality: 80
  avif_quality: 63
  max_source_bytes: 10MiB
  max_source_pixels: 40000000
  max_source_decoded_bytes: 160MB
  queue_bytes: 256MiB
http:
  purge_tag_headers: [Surrogate-Key, Cache-Tag]
  deny_networks: ["169.254.0.0/16", "fe80::/10", "224.0.0.0/24", "ff02::/16", "0.0.0.0/32", "::/128"]
log: {format: json, level: info}
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
