package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/avatarproxy/avatarproxy/netguard"
)

// MinSourcePixels and MinSourceDecodedBytes are the least the source limits
// may be set to: what the default avatars, 512 px RGBA squares, take.
const (
	MinSourcePixels       = 512 * 512
	MinSourceDecodedBytes = MinSourcePixels * 4
)

// MaxEdge bounds resize.default_size, resize.max_size and every allowed
// size: the largest edge the resize pipeline renders.
const MaxEdge = 4096

// MinSigningKeyBytes is the shortest signing key accepted.
const MinSigningKeyBytes = 16

// ValidationError lists everything wrong with a configuration.
type ValidationError struct {
	Problems []string // one per line of Error, each naming its key
}

// Error returns the problems one per line.
func (e *ValidationError) Error() string { return strings.Join(e.Problems, "\n") }

// problems collects messages of the form "key: what is wrong".
type problems []string

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, key+": "+fmt.Sprintf(format, args...))
}

// positive and notNegative check a count, size or duration setting.
func positive[N ~int | ~int64](p *problems, key string, value N) {
	if value <= 0 {
		p.add(key, "must be positive")
	}
}

func notNegative[N ~int | ~int64](p *problems, key string, value N) {
	if value < 0 {
		p.add(key, "must not be negative")
	}
}

// Validate checks c against the rules the README documents, each upstream
// against the schema of its kind in kinds, and returns a *ValidationError
// listing every problem, or nil. It also sorts resize.sizes ascending.
func (c *Config) Validate(kinds Kinds) error {
	var p problems
	checkAddress(&p, "listen", c.Listen)
	if c.MetricsListen != "" {
		checkAddress(&p, "metrics_listen", c.MetricsListen)
		if c.MetricsListen == c.Listen {
			p.add("metrics_listen", "must differ from listen (leave it empty to serve /metrics on the main listener)")
		}
	}
	if !slices.Contains([]string{"404", "blank", "identicon", "initials", "mp"}, c.DefaultAvatar) {
		p.add("default_avatar", "must be one of 404, blank, identicon, initials, mp, not %q", c.DefaultAvatar)
	}
	c.checkUpstreams(&p, kinds)
	c.checkDropin(&p)
	c.Cache.check(&p)
	c.Resize.check(&p)
	c.Security.check(&p)
	c.HTTP.check(&p)
	c.Log.check(&p)
	notNegative(&p, "shutdown_delay", c.ShutdownDelay)
	positive(&p, "shutdown_timeout", c.ShutdownTimeout)
	if c.MaxConnections < 1 {
		p.add("max_connections", "must be at least 1")
	}
	positive(&p, "body_timeout", c.BodyTimeout)
	positive(&p, "passthrough_body_timeout", c.PassthroughBodyTimeout)
	slices.Sort(c.Resize.Sizes)
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

func checkAddress(p *problems, key, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.add(key, "must be host:port, as in :8080, not %q", addr)
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		p.add(key, "port %q must be a number in 0..65535", port)
	}
}

// reservedRoutes are the proxy's own paths, which no pass-through may shadow.
func reservedRoutes() []string {
	return []string{"/avatar", "/purge", "/webhooks", "/metrics", "/healthz", "/readyz", "/proxy.php"}
}

var upstreamName = regexp.MustCompile(`^[a-z0-9_-]+$`)

func (c *Config) checkUpstreams(p *problems, kinds Kinds) {
	seen := make(map[string]string) // name -> label of its first upstream
	var prefixes []struct{ prefix, label string }
	for i, u := range c.Upstreams {
		label := fmt.Sprintf("upstreams[%d]", i)
		if u.Name != "" {
			label += " (" + u.Name + ")"
		}
		switch first, dup := seen[u.Name]; {
		case u.Name == "":
			p.add(label+".name", "must not be empty")
		case !upstreamName.MatchString(u.Name):
			p.add(label+".name", "must match [a-z0-9_-]+")
		case dup:
			p.add(label+".name", "duplicates %s", first)
		default:
			seen[u.Name] = label
		}
		u.check(p, label, kinds)
		if u.PassthroughPrefix != "" && kinds.Takes(u.Kind, "passthrough_prefix") {
			for _, other := range prefixes {
				if pathsOverlap(u.PassthroughPrefix, other.prefix) {
					p.add(label+".passthrough_prefix", "%s overlaps %s of %s", u.PassthroughPrefix, other.prefix, other.label)
				}
			}
			prefixes = append(prefixes, struct{ prefix, label string }{u.PassthroughPrefix, label})
		}
	}
}

func (u Upstream) check(p *problems, label string, kinds Kinds) {
	if _, ok := kinds.rules[u.Kind]; !ok {
		p.add(label+".kind", "must be one of %s, not %q", strings.Join(kinds.names, ", "), u.Kind)
		return
	}
	keys := u.kindKeys()
	for _, f := range keys {
		if f.set() && !kinds.Takes(u.Kind, f.key) {
			p.add(label+"."+f.key, "does not apply to kind %s", u.Kind)
		}
	}
	for _, f := range keys {
		rule, takes := kinds.rule(u.Kind, f.key)
		if !takes {
			continue
		}
		key := label + "." + f.key
		if !f.set() {
			if rule.Required {
				p.add(key, "is required for kind %s", u.Kind)
			}
			continue
		}
		if checkKey(p, key, f) && rule.Check != nil {
			if err := rule.Check(f.value); err != nil {
				p.add(key, "%v", err)
			}
		}
	}
	if check := kinds.rules[u.Kind].Check; check != nil {
		for _, kp := range check(u) {
			p.add(label+"."+kp.Key, "%s", kp.Problem)
		}
	}
	notNegative(p, label+".connect_timeout", u.ConnectTimeout)
	notNegative(p, label+".header_timeout", u.HeaderTimeout)
	notNegative(p, label+".timeout", u.Timeout)
}

// checkKey applies the checks a key has whatever the kind, reporting under
// key, and reports whether the value passed them.
func checkKey(p *problems, key string, f kindKey) bool {
	n := len(*p)
	switch f.key {
	case "base_url":
		if err := CheckHTTPURL(f.value); err != nil {
			p.add(key, "%s", err)
		} else if b, _ := url.Parse(f.value); b.RawQuery != "" || b.ForceQuery || b.Fragment != "" {
			p.add(key, "must not have a query or fragment: paths are appended to it")
		}
	case "passthrough_prefix":
		prefix := f.value
		switch {
		case !strings.HasPrefix(prefix, "/"):
			p.add(key, "must start with /")
		case prefix == "/":
			p.add(key, "must not be /")
		case strings.HasSuffix(prefix, "/"):
			p.add(key, "must not end with /")
		case strings.ContainsAny(prefix, "?#%") || path.Clean(prefix) != prefix:
			p.add(key, "must be a clean path")
		}
		for _, route := range reservedRoutes() {
			if pathsOverlap(prefix, route) {
				p.add(key, "collides with the proxy's own route %s", route)
			}
		}
	}
	return len(*p) == n
}

// kindKey is one of an upstream's kind-specific keys and its value, empty
// when the key is not set.
type kindKey struct {
	key, value string
}

func (f kindKey) set() bool { return f.value != "" }

func (u Upstream) kindKeys() []kindKey {
	duration := func(d Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	return []kindKey{
		{"root", u.Root},
		{"url_template", u.URLTemplate},
		{"base_url", u.BaseURL},
		{"token", u.Token},
		{"api_key", u.APIKey},
		{"client_id", u.ClientID},
		{"client_secret", u.ClientSecret},
		{"enterprise_id", u.EnterpriseID},
		{"user_id", u.UserID},
		{"token_url", u.TokenURL},
		{"user_name", u.UserName},
		{"password", u.Password},
		{"passthrough_prefix", u.PassthroughPrefix},
		{"webhook_secret", u.WebhookSecret},
		{"connect_timeout", duration(u.ConnectTimeout)},
		{"header_timeout", duration(u.HeaderTimeout)},
		{"timeout", duration(u.Timeout)},
	}
}

// pathsOverlap reports whether one path is the other or lies beneath it.
func pathsOverlap(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// CheckHTTPURL is the rule of a value that names an absolute http(s) URL,
// shaped as a KeyRule's Check.
func CheckHTTPURL(value string) error {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	return nil
}

func (c *Config) checkDropin(p *problems) {
	name := c.ActiveCollabDropin
	if name == "" {
		return
	}
	u, ok := c.Upstream(name)
	switch {
	case !ok:
		p.add("activecollab_dropin", "no upstream is named %q", name)
	case u.Kind != dropinKind:
		p.add("activecollab_dropin", "upstream %q is a %s upstream, not activecollab", name, u.Kind)
	}
}

func (c Cache) check(p *problems) {
	positive(p, "cache.max_bytes", c.MaxBytes)
	positive(p, "cache.ttl", c.TTL)
	notNegative(p, "cache.negative_ttl", c.NegativeTTL)
	positive(p, "cache.browser_ttl", c.BrowserTTL)
	positive(p, "cache.version_interval", c.VersionInterval)
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		switch {
		case err != nil || !slices.Contains([]string{"redis", "rediss", "unix"}, u.Scheme):
			p.add("cache.redis_url", "must be a redis://, rediss:// or unix:// URL")
		case u.Scheme == "unix" && u.Path == "":
			p.add("cache.redis_url", "must name a socket path, as in unix:///run/redis.sock")
		case u.Scheme != "unix" && u.Host == "":
			p.add("cache.redis_url", "must name a host, as in redis://localhost:6379/0")
		case c.RedisCluster && u.Scheme == "unix":
			p.add("cache.redis_url", "must be a redis:// or rediss:// URL with redis_cluster, as in redis://10.0.0.1:6379?addr=10.0.0.2:6379")
		}
	} else if c.RedisCluster {
		p.add("cache.redis_cluster", "set without cache.redis_url")
	}
	if c.RedisMaxValueBytes < 1<<10 || c.RedisMaxValueBytes > 512<<20 {
		p.add("cache.redis_max_value_bytes", "must be in 1KiB..512MiB")
	}
	if c.RedisTimeout < Duration(time.Millisecond) || c.RedisTimeout > Duration(10*time.Second) {
		p.add("cache.redis_timeout", "must be in 1ms..10s")
	}
}

func (r Resize) check(p *problems) {
	edgeOK := func(key string, n int) bool {
		if n < 1 || n > MaxEdge {
			p.add(key, "must be in 1..%d", MaxEdge)
			return false
		}
		return true
	}
	defaultOK := edgeOK("resize.default_size", r.DefaultSize)
	maxOK := edgeOK("resize.max_size", r.MaxSize)
	if defaultOK && maxOK && r.DefaultSize > r.MaxSize {
		p.add("resize.default_size", "must not exceed resize.max_size (%d)", r.MaxSize)
	}
	for i, s := range r.Sizes {
		key := fmt.Sprintf("resize.sizes[%d]", i)
		if s < 1 || (maxOK && s > r.MaxSize) {
			p.add(key, "%d is outside 1..resize.max_size (%d)", s, r.MaxSize)
		}
		if j := slices.Index(r.Sizes, s); j < i {
			p.add(key, "%d repeats resize.sizes[%d]", s, j)
		}
	}
	formats := []string{"webp", "avif", "jpeg", "png"}
	for i, f := range r.Formats {
		if !slices.Contains(formats, f) {
			p.add(fmt.Sprintf("resize.formats[%d]", i), "must be one of %s, not %q", strings.Join(formats, ", "), f)
		}
	}
	if r.Quality < 1 || r.Quality > 100 {
		p.add("resize.quality", "must be in 1..100")
	}
	if r.AVIFQuality < 1 || r.AVIFQuality > 100 {
		p.add("resize.avif_quality", "must be in 1..100")
	}
	positive(p, "resize.max_source_bytes", r.MaxSourceBytes)
	// The default avatars pass through the same limits as originals: a
	// limit below what they take would turn every fallback into an error.
	if r.MaxSourcePixels < MinSourcePixels {
		p.add("resize.max_source_pixels", "must be at least %d (the default avatars are %d pixels)", MinSourcePixels, MinSourcePixels)
	}
	if r.MaxSourceDecodedBytes < MinSourceDecodedBytes {
		p.add("resize.max_source_decoded_bytes", "must be at least %d (the default avatars take %d bytes decoded)", MinSourceDecodedBytes, MinSourceDecodedBytes)
	}
	notNegative(p, "resize.workers", r.Workers)
	notNegative(p, "resize.queue", r.Queue)
	if r.QueueBytes < r.MaxSourceBytes {
		p.add("resize.queue_bytes", "must be at least resize.max_source_bytes (%d), so that any source can wait", r.MaxSourceBytes)
	}
}

func (s Security) check(p *problems) {
	if s.SigningKey != "" && len(s.SigningKey) < MinSigningKeyBytes {
		p.add("security.signing_key", "must be at least %d bytes", MinSigningKeyBytes)
	}
	for i, k := range s.PreviousSigningKeys {
		if len(k) < MinSigningKeyBytes {
			p.add(fmt.Sprintf("security.previous_signing_keys[%d]", i), "must be at least %d bytes", MinSigningKeyBytes)
		}
	}
	if s.SigningKey == "" && len(s.PreviousSigningKeys) > 0 {
		p.add("security.previous_signing_keys", "set without security.signing_key, so URLs are unsigned and these keys unused")
	}
}

func (h HTTP) check(p *problems) {
	for _, l := range []struct {
		key  string
		list []string
	}{{"http.deny_networks", h.DenyNetworks}, {"http.allow_networks", h.AllowNetworks}} {
		for i, cidr := range l.list {
			if _, err := netguard.ParsePrefixes([]string{cidr}); err != nil {
				p.add(fmt.Sprintf("%s[%d]", l.key, i), "%q is not a CIDR range such as 10.0.0.0/8 or fd00::/8", cidr)
			}
		}
	}
	for i, name := range h.PurgeTagHeaders {
		if !isToken(name) {
			p.add(fmt.Sprintf("http.purge_tag_headers[%d]", i), "%q is not a valid header field name", name)
		}
	}
	for i, r := range h.PurgeRequests {
		key := fmt.Sprintf("http.purge_requests[%d]", i)
		if !isToken(r.Method) {
			p.add(key+".method", "must be an HTTP method such as PURGE or POST")
		}
		if err := CheckHTTPURL(strings.ReplaceAll(r.URL, "{tag}", "tag")); err != nil {
			p.add(key+".url", "%s", err)
		}
		for _, name := range slices.Sorted(maps.Keys(r.Headers)) {
			value := r.Headers[name]
			if !isToken(name) {
				p.add(key+".headers", "%q is not a valid header field name", name)
			}
			if strings.ContainsAny(value, "\r\n\x00") {
				p.add(key+".headers."+name, "must not contain line breaks or NUL")
			}
		}
	}
}

// isToken reports whether s is an RFC 9110 token, the grammar of header
// field names and methods.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// LogFormats and LogLevels are the values log.format and log.level take.
var (
	LogFormats = []string{"json", "text"}
	LogLevels  = []string{"debug", "info", "warn", "error"}
)

func (l Log) check(p *problems) {
	if !slices.Contains(LogFormats, l.Format) {
		p.add("log.format", "must be json or text, not %q", l.Format)
	}
	if !slices.Contains(LogLevels, l.Level) {
		p.add("log.level", "must be debug, info, warn or error, not %q", l.Level)
	}
}
