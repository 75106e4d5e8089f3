package deploy

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// The modules these tests decode and parse with stay out of the binaries.
func TestTestOnlyDependencies(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/...")
	cmd.Dir = testproc.RepoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, testOnly := range []string{"k8s.io/", "sigs.k8s.io/", "github.com/moby/buildkit/"} {
			if strings.HasPrefix(pkg, testOnly) {
				t.Errorf("a binary imports %s, a dependency meant for tests only", pkg)
			}
		}
	}
}
