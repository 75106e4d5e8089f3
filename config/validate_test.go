package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

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
		{"redis cluster", func(c *Config) {
			c.Cache.RedisURL, c.Cache.RedisCluster = "redis://10.0.0.1:6379?addr=10.0.0.2:6379&addr=10.0.0.3:6379", true
		}, ""},
		{"redis cluster unix", func(c *Config) {
			c.Cache.RedisURL, c.Cache.RedisCluster = "unix:///run/redis.sock", true
		}, "cache.redis_url: must be a redis:// or rediss:// URL with redis_cluster"},
		{"redis cluster without url", func(c *Config) { c.Cache.RedisCluster = true }, "cache.redis_cluster: set without cache.redis_url"},
		{"redis value cap small", func(c *Config) { c.Cache.RedisMaxValueBytes = 1000 }, "cache.redis_max_value_bytes: must be in 1KiB..512MiB"},
		{"redis value cap", func(c *Config) { c.Cache.RedisMaxValueBytes = 4 << 20 }, ""},
		{"redis timeout zero", func(c *Config) { c.Cache.RedisTimeout = 0 }, "cache.redis_timeout: must be in 1ms..10s"},
		{"redis timeout long", func(c *Config) { c.Cache.RedisTimeout = Duration(time.Minute) }, "cache.redis_timeout: must be in 1ms..10s"},

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
		{"avif quality 0", func(c *Config) { c.Resize.AVIFQuality = 0 }, "resize.avif_quality: must be in 1..100"},
		{"avif quality 101", func(c *Config) { c.Resize.AVIFQuality = 101 }, "resize.avif_quality: must be in 1..100"},
		{"max_source_bytes", func(c *Config) { c.Resize.MaxSourceBytes = 0 }, "resize.max_source_bytes: must be positive"},
		{"max_source_pixels", func(c *Config) { c.Resize.MaxSourcePixels = 0 }, "resize.max_source_pixels: must be at least 262144 (the default avatars are 262144 pixels)"},
		{"max_source_pixels below the defaults", func(c *Config) { c.Resize.MaxSourcePixels = MinSourcePixels - 1 }, "resize.max_source_pixels: must be at least 262144 (the default avatars are 262144 pixels)"},
		{"max_source_pixels at the defaults", func(c *Config) { c.Resize.MaxSourcePixels = MinSourcePixels }, ""},
		{"max_source_decoded_bytes", func(c *Config) { c.Resize.MaxSourceDecodedBytes = 0 }, "resize.max_source_decoded_bytes: must be at least 1048576 (the default avatars take 1048576 bytes decoded)"},
		{"max_source_decoded_bytes below the defaults", func(c *Config) { c.Resize.MaxSourceDecodedBytes = MinSourceDecodedBytes - 1 }, "resize.max_source_decoded_bytes: must be at least 1048576 (the default avatars take 1048576 bytes decoded)"},
		{"workers", func(c *Config) { c.Resize.Workers = -1 }, "resize.workers: must not be negative"},
		{"queue", func(c *Config) { c.Resize.Queue = -1 }, "resize.queue: must not be negative"},
		{"queue_bytes", func(c *Config) { c.Resize.QueueBytes = 1 << 20 }, "resize.queue_bytes: must be at least resize.max_source_bytes"},
		{"log.format", func(c *Config) { c.Log.Format = "xml" }, `log.format: must be json or text, not "xml"`},
		{"log.level", func(c *Config) { c.Log.Level = "verbose" }, `log.level: must be debug, info, warn or error, not "verbose"`},
		{"log text debug", func(c *Config) { c.Log = Log{Format: "text", Level: "debug"} }, ""},

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
		{"max_connections", func(c *Config) { c.MaxConnections = 0 }, "max_connections: must be at least 1"},
		{"body_timeout", func(c *Config) { c.BodyTimeout = 0 }, "body_timeout: must be positive"},
		{"passthrough_body_timeout", func(c *Config) { c.PassthroughBodyTimeout = 0 }, "passthrough_body_timeout: must be positive"},
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
