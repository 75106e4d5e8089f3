package deploy

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/testproc"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// composeFile is the part of the Compose specification compose.yaml uses;
// decoding refuses any other key, so a misspelt one fails.
type composeFile struct {
	Name     string                    `yaml:"name"`
	XProxy   any                       `yaml:"x-proxy"` // the replicas' shared definition, merged below
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Image           string            `yaml:"image"`
	Command         []string          `yaml:"command"`
	Environment     map[string]string `yaml:"environment"`
	Volumes         []string          `yaml:"volumes"`
	Ports           []string          `yaml:"ports"`
	DependsOn       any               `yaml:"depends_on"` // a list, or a map of conditions
	StopGracePeriod string            `yaml:"stop_grace_period"`
	Restart         string            `yaml:"restart"`
	Healthcheck     *struct {
		Test     []string `yaml:"test"`
		Interval string   `yaml:"interval"`
		Timeout  string   `yaml:"timeout"`
		Retries  int      `yaml:"retries"`
	} `yaml:"healthcheck"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	decodeYAMLStrict(t, "compose.yaml", &c)
	return c
}

// mountOf returns where service mounts the host path source, or "".
func (c composeFile) mountOf(service, source string) string {
	for _, v := range c.Services[service].Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[0] == source {
			return parts[1]
		}
	}
	return ""
}

func (s composeService) dependsOn(name string) bool {
	switch d := s.DependsOn.(type) {
	case []any:
		return slices.Contains(d, any(name))
	case map[string]any:
		_, ok := d[name]
		return ok
	}
	return false
}

// environ gives each of the service's variables a stand-in value, as
// compose would substitute the operator's.
func (s composeService) environ() []string {
	var env []string
	for k := range s.Environment {
		env = append(env, k+"=stand-in-"+strings.ToLower(k))
	}
	return env
}

func TestComposeFile(t *testing.T) {
	c := loadCompose(t)
	var names []string
	for name := range c.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"grafana", "prometheus", "proxy-a", "proxy-b", "redis"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	for name, s := range c.Services {
		if err := pinnedImage(s.Image); err != nil && s.Build == nil {
			t.Errorf("service %s: %v", name, err)
		}
		for _, v := range s.Volumes {
			if src := strings.Split(v, ":")[0]; strings.HasPrefix(src, ".") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			}
		}
	}

	var targets []string
	for _, name := range []string{"proxy-a", "proxy-b"} {
		s := c.Services[name]
		if s.Build == nil || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("%s: want it built from the repository's Dockerfile", name)
		} else if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		i := slices.Index(s.Command, "-config")
		if i < 0 || i+1 == len(s.Command) {
			t.Fatalf("%s: command %v names no -config", name, s.Command)
		}
		var source string
		for _, v := range s.Volumes {
			if parts := strings.Split(v, ":"); len(parts) >= 2 && parts[1] == s.Command[i+1] {
				source = parts[0]
			}
		}
		if source == "" {
			t.Fatalf("%s: nothing is mounted at %s", name, s.Command[i+1])
		}
		data, err := os.ReadFile(source)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := parseConfig(t, data, s.environ())
		if err != nil {
			t.Fatalf("%s: %s: %v", name, source, err)
		}
		if cfg.Security.PurgeToken == "" {
			t.Errorf("%s: the purge token is not set from the environment", name)
		}
		u, err := url.Parse(cfg.Cache.RedisURL)
		if err != nil || u.Hostname() != "redis" || !s.dependsOn("redis") {
			t.Errorf("%s: cache.redis_url %q: want the redis service, and the replica to depend on it", name, cfg.Cache.RedisURL)
		}
		_, port, _ := net.SplitHostPort(cfg.Listen)
		if !slices.ContainsFunc(s.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
			t.Errorf("%s: ports %v do not publish the listen port %s", name, s.Ports, port)
		}
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if need := cfg.ShutdownDelay.D() + cfg.ShutdownTimeout.D(); err != nil || grace <= need {
			t.Errorf("%s: stop_grace_period %q, want more than shutdown_delay + shutdown_timeout (%v)", name, s.StopGracePeriod, need)
		}
		targets = append(targets, fmt.Sprintf("%s:%s", name, port))
	}

	p := c.Services["prometheus"]
	if got := c.mountOf("prometheus", "./prometheus"); got != "/etc/prometheus" ||
		!slices.Contains(p.Command, "--config.file=/etc/prometheus/prometheus.yml") {
		t.Errorf("prometheus: want ./prometheus mounted at /etc/prometheus and --config.file=/etc/prometheus/prometheus.yml")
	}
	var prom struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	data, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &prom); err != nil {
		t.Fatal(err)
	}
	var scraped []string
	for _, sc := range prom.ScrapeConfigs {
		if sc.JobName != "avatarproxy" {
			continue
		}
		for _, st := range sc.StaticConfigs {
			scraped = append(scraped, st.Targets...)
		}
	}
	if !slices.Equal(scraped, targets) {
		t.Errorf("job avatarproxy scrapes %v, want both replicas %v", scraped, targets)
	}
}

// pinnedImage refuses an image reference without a tag or digest, or
// tagged latest: a rebuild must not silently change what runs.
func pinnedImage(ref string) error {
	if _, digest, ok := strings.Cut(ref, "@"); ok && digest != "" {
		return nil
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case !ok || tag == "":
		return fmt.Errorf("image %q has no tag", ref)
	case tag == "latest":
		return fmt.Errorf("image %q is tagged latest", ref)
	}
	return nil
}

// parseConfig parses and validates a configuration as the image's binary
// would: relative paths resolve against its working directory, which holds
// what the repository's examples/ holds.
func parseConfig(t *testing.T, data []byte, environ []string) (*config.Config, error) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(testproc.RepoRoot(t)); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	return config.Parse(data, environ, upstream.Kinds())
}
