package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// The Dockerfile parses with BuildKit's own parser, passes BuildKit's lint
// rules (those of `docker build --check`), and follows ours: pinned base
// images, a final stage that runs as an unprivileged user with a
// HEALTHCHECK, and no ADD of a URL.
func TestDockerfile(t *testing.T) {
	path := filepath.Join(testproc.RepoRoot(t), "Dockerfile")
	for _, p := range lintDockerfile(t, path) {
		t.Error(p)
	}
}

// lintDockerfile returns every problem of the Dockerfile at path.
func lintDockerfile(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var problems []string
	for _, w := range res.Warnings {
		problems = append(problems, fmt.Sprintf("parser: %s", w.Short))
	}
	lint := linter.New(&linter.Config{Warn: func(rule, description, url, msg string, _ []parser.Range) {
		problems = append(problems, fmt.Sprintf("buildkit lint %s: %s", rule, msg))
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(stages) == 0 {
		t.Fatalf("%s has no stage", path)
	}

	names := map[string]bool{}
	for _, st := range stages {
		if !names[strings.ToLower(st.BaseName)] {
			if err := pinnedImage(st.BaseName); err != nil {
				problems = append(problems, fmt.Sprintf("FROM %s", err))
			}
		}
		names[strings.ToLower(st.Name)] = true
		for _, cmd := range st.Commands {
			if add, ok := cmd.(*instructions.AddCommand); ok {
				for _, src := range add.SourcePaths {
					if strings.Contains(src, "://") {
						problems = append(problems, fmt.Sprintf("ADD %s: fetch with a checked download in RUN, or COPY", src))
					}
				}
			}
		}
	}

	final := stages[len(stages)-1]
	user, health := "", false
	for _, cmd := range final.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.HealthCheckCommand:
			health = c.Health != nil && len(c.Health.Test) > 0 && c.Health.Test[0] != "NONE"
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		problems = append(problems, fmt.Sprintf("the final stage runs as %q, want an unprivileged USER", user))
	}
	if !health {
		problems = append(problems, "the final stage has no HEALTHCHECK")
	}
	return problems
}

// The rules catch what they claim to.
func TestDockerfileLintRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Dockerfile")
	bad := "FROM debian\nADD https://example.com/tool /usr/local/bin/tool\nCMD [\"tool\"]\n"
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(lintDockerfile(t, path), "\n")
	for _, want := range []string{`image "debian" has no tag`, "ADD https://example.com/tool", `runs as ""`, "no HEALTHCHECK"} {
		if !strings.Contains(got, want) {
			t.Errorf("lint of %q: want a problem with %q, got:\n%s", bad, want, got)
		}
	}
}
