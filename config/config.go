// Package config defines avatarproxy's configuration: the YAML schema of
// the README's "Configuration" section, environment overrides and ${NAME} expansion, and the
// validation that runs once at start-up.
package config

import "time"

// Config is the whole configuration. Field tags name the YAML keys; the
// environment override of a key is AVATARPROXY_ + its path in upper snake case.
type Config struct {
	Listen             string   `yaml:"listen"`
	MetricsListen      string   `yaml:"metrics_listen"`
	DefaultAvatar      string   `yaml:"default_avatar"`
	ActiveCollabDropin string   `yaml:"activecollab_dropin"`
	ShutdownTimeout    Duration `yaml:"shutdown_timeout"`
	// ShutdownDelay keeps serving, with /readyz failing, this long after
	// SIGTERM before the listener closes, so load balancers stop sending.
	ShutdownDelay Duration `yaml:"shutdown_delay"`
	// MaxConnections caps the open connections of each listener; beyond
	// it new connections wait in the kernel's backlog.
	MaxConnections int `yaml:"max_connections"`
	// BodyTimeout bounds the reading of a request body on every face but
	// the pass-through (webhooks, purges), PassthroughBodyTimeout that of
	// an upload forwarded through a passthrough_prefix.
	BodyTimeout            Duration   `yaml:"body_timeout"`
	PassthroughBodyTimeout Duration   `yaml:"passthrough_body_timeout"`
	Upstreams              []Upstream `yaml:"upstreams"`
	Cache                  Cache      `yaml:"cache"`
	Resize                 Resize     `yaml:"resize"`
	Security               Security   `yaml:"security"`
	HTTP                   HTTP       `yaml:"http"`
	Log                    Log        `yaml:"log"`
}

// Log configures the process's log: access lines are written at info.
type Log struct {
	Format string `yaml:"format"` // json | text
	Level  string `yaml:"level"`  // debug | info | warn | error
}

// Upstream is one avatar provider. Kind selects which of the other keys apply.
type Upstream struct {
	Name              string `yaml:"name"`
	Kind              string `yaml:"kind"`         // file | http | box | docspace | activecollab | gravatar
	Root              string `yaml:"root"`         // file
	URLTemplate       string `yaml:"url_template"` // http
	BaseURL           string `yaml:"base_url"`     // box, docspace, activecollab, gravatar
	Token             string `yaml:"token"`        // box: fixed bearer token; activecollab: X-Angie-AuthApiToken
	APIKey            string `yaml:"api_key"`      // docspace: API key or OAuth access token
	PassthroughPrefix string `yaml:"passthrough_prefix"`
	WebhookSecret     string `yaml:"webhook_secret"`
	// Per-upstream network limits; zero means the defaults below.
	ConnectTimeout Duration `yaml:"connect_timeout"` // default 2s
	HeaderTimeout  Duration `yaml:"header_timeout"`  // default 5s
	Timeout        Duration `yaml:"timeout"`         // whole fetch, default 10s
	// Box Client Credentials Grant, instead of token: the application's id
	// and secret, and the account its tokens act as, enterprise_id or
	// user_id.
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	EnterpriseID string `yaml:"enterprise_id"`
	UserID       string `yaml:"user_id"`
	TokenURL     string `yaml:"token_url"` // default https://api.box.com/oauth2/token
	// DocSpace login, instead of api_key, exchanged at
	// /api/2.0/authentication for session tokens.
	UserName string `yaml:"user_name"`
	Password string `yaml:"password"`
}

// Cache configures the in-process tiers and the optional shared Redis tier.
type Cache struct {
	MaxBytes    Size     `yaml:"max_bytes"`
	TTL         Duration `yaml:"ttl"`
	NegativeTTL Duration `yaml:"negative_ttl"`
	BrowserTTL  Duration `yaml:"browser_ttl"`
	// VersionInterval is how often a version token not yet confirmed for
	// a user may make the proxy ask the upstream again.
	VersionInterval Duration `yaml:"version_interval"`
	// RedisURL names the shared Redis tier; empty: memory only. With
	// RedisCluster it names one seed node of a Redis Cluster, the others
	// given as addr query parameters.
	RedisURL           string   `yaml:"redis_url"`
	RedisCluster       bool     `yaml:"redis_cluster"`
	RedisMaxValueBytes Size     `yaml:"redis_max_value_bytes"`
	RedisTimeout       Duration `yaml:"redis_timeout"`
}

// Resize configures the image pipeline and its limits.
type Resize struct {
	DefaultSize int      `yaml:"default_size"`
	MaxSize     int      `yaml:"max_size"`
	Sizes       []int    `yaml:"sizes"`
	Formats     []string `yaml:"formats"`
	Quality     int      `yaml:"quality"`
	// AVIFQuality is AVIF's own quality: AVIF at the same number as
	// JPEG and WebP looks better than they do and costs more bytes and
	// encoding time.
	AVIFQuality     int   `yaml:"avif_quality"`
	MaxSourceBytes  Size  `yaml:"max_source_bytes"`
	MaxSourcePixels int64 `yaml:"max_source_pixels"`
	Workers         int   `yaml:"workers"`
	Queue           int   `yaml:"queue"` // resizes waiting for a worker; 0: 1024
	// QueueBytes bounds the source bytes of the resizes waiting for a
	// worker: what a burst of cold requests holds beyond the workers.
	QueueBytes Size `yaml:"queue_bytes"`

	// MaxSourceDecodedBytes bounds the memory a decoded source takes:
	// pixels x bands x bytes per sample.
	MaxSourceDecodedBytes Size `yaml:"max_source_decoded_bytes"`
}

// Security holds URL signing keys and the control-face token.
type Security struct {
	SigningKey          string   `yaml:"signing_key"`
	PreviousSigningKeys []string `yaml:"previous_signing_keys"`
	PurgeToken          string   `yaml:"purge_token"`
}

// HTTP configures what the proxy tells caches in front of it, and where
// its outbound connections may go.
type HTTP struct {
	PurgeTagHeaders []string       `yaml:"purge_tag_headers"`
	PurgeRequests   []PurgeRequest `yaml:"purge_requests"`
	// DenyNetworks are the CIDR ranges no outbound connection may reach,
	// AllowNetworks the exceptions carved out of them. Cloud metadata
	// addresses are refused whatever these say.
	DenyNetworks  []string `yaml:"deny_networks"`
	AllowNetworks []string `yaml:"allow_networks"`
}

// PurgeRequest is sent to a CDN on every invalidation, {tag} substituted.
type PurgeRequest struct {
	Method  string            `yaml:"method"`
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"` // optional, as in Cloudflare's {"tags":["{tag}"]}
}

// Size is a byte count written as 256MiB, 10MB or a plain integer.
type Size int64

// Duration is a time.Duration written as 90s, 5m or 1h30m.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
