package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/avatarproxy/avatarproxy/internal/process"
)

// proxy is the avatarproxy process under test.
type proxy struct {
	*process.Process
	base string
}

// startProxy runs bin with a configuration written to dir, in front of
// the origin at address origin, and waits until it answers /healthz.
func startProxy(bin, dir, origin string) (*proxy, error) {
	addr, err := process.FreeAddr()
	if err != nil {
		return nil, err
	}

	// Two upstreams over one origin with different patience; a cache small
	// enough to evict; a resize pool small enough to fill.
	// A webhook upstream and a pass-through, over the same origin, for the
	// slow-drip clients.
	cfg := fmt.Sprintf(`listen: %q
shutdown_timeout: 30s
body_timeout: 2s
passthrough_body_timeout: 4s
upstreams:
  - {name: quick, kind: http, url_template: "http://%s/a/{user_id}", timeout: 2s, header_timeout: 1s}
  - {name: patient, kind: http, url_template: "http://%s/a/{user_id}", timeout: 5s}
  - {name: hook, kind: docspace, base_url: "http://%s", api_key: soak, webhook_secret: %s}
  - {name: pass, kind: box, base_url: "http://%s", token: soak, passthrough_prefix: /pass}
cache:
  max_bytes: 8MiB
  ttl: 20s
  negative_ttl: 5s
resize:
  default_size: %d
  max_size: %d
  formats: [webp, avif]
  workers: 2
  queue: 8
security:
  purge_token: %s
`, addr, origin, origin, origin, dripSecret, origin, defaultSize, maxSize, purgeToken)
	proc, err := process.StartProxy(bin, dir, addr, cfg, startTimeout)
	if err != nil {
		return nil, err
	}
	return &proxy{Process: proc, base: "http://" + addr}, nil
}

// rss is the resident set size of the process, from the kernel's view
// rather than the Go heap's, so that libvips' memory counts too.
func (p *proxy) rss() (int64, error) { return process.RSS(p.Cmd.Process.Pid) }

// samples are the unlabelled samples of a /metrics scrape.
type samples map[string]string

func (s samples) get(name string) string {
	if v, ok := s[name]; ok {
		return v
	}
	return "?"
}

func (p *proxy) scrape(client *http.Client) samples {
	s := make(samples)
	resp, err := client.Get(p.base + "/metrics")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && !strings.HasPrefix(name, "#") && !strings.Contains(name, "{") {
			s[name] = value
		}
	}
	return s
}

func mib(n int64) string { return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20)) }

func mibf(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return mib(int64(f))
}
