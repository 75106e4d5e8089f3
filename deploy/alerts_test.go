package deploy

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// The alerting rules and the compose setup's Prometheus configuration pass
// promtool's checks, and the rules' unit tests (alerts_test.yml) pass:
// each alert fires on what should fire it and stays quiet otherwise.
func TestPromtool(t *testing.T) {
	promtool := testproc.Need(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "prometheus/alerts.yml"},
		{"check", "config", "prometheus/prometheus.yml"},
		{"test", "rules", "prometheus/alerts_test.yml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
