package failure

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"strings"
	"testing"
)

// Every class is consistent: a name of its own, a status a client can be
// given, and breaker effects and fallbacks that agree with each other.
func TestClassesAreConsistent(t *testing.T) {
	names := map[string]bool{}
	for _, c := range All {
		if c.Name == "" || names[c.Name] {
			t.Errorf("class %q: empty or repeated name", c.Name)
		}
		names[c.Name] = true
		if c.Message == "" || http.StatusText(c.Status) == "" && c.Status != 499 {
			t.Errorf("%s: status %d, message %q", c.Name, c.Status, c.Message)
		}
		if c.Status == http.StatusInternalServerError && c != Internal {
			t.Errorf("%s answers 500: only a bug may", c.Name)
		}
		if c.Health == CountsUnwell && !c.Fallback {
			t.Errorf("%s says the upstream is unwell but serves no default", c.Name)
		}
		if c.IsClientError() && (c.Fallback || c.Health != ProvesNothing) {
			t.Errorf("%s is the client's fault yet falls back or moves the breaker", c.Name)
		}
		if c.Fallback && c.Status < 500 && c != Canceled {
			t.Errorf("%s falls back but would answer %d without a default", c.Name, c.Status)
		}
	}
	if Busy.Status != http.StatusServiceUnavailable || Busy.Fallback {
		t.Error("overload must answer 503, not a default image")
	}
}

// All lists every class the package declares, so that the walk above
// misses none.
func TestAllListsEveryClass(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "failure.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range All {
		listed[c.Name] = true
	}
	declared := 0
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "Class" {
			return true
		}
		declared++
		name := lit.Elts[0].(*ast.BasicLit).Value
		if !listed[name[1:len(name)-1]] {
			t.Errorf("class %s is not in All", name)
		}
		return true
	})
	if declared != len(All) {
		t.Errorf("%d classes declared, %d in All", declared, len(All))
	}
}

func TestOf(t *testing.T) {
	wrapped := fmt.Errorf("outer: %w", New(TooLarge, "big"))
	cases := []struct {
		err   error
		class *Class
		known bool
	}{
		{wrapped, TooLarge, true},
		{fmt.Errorf("%w: %w", New(Busy, "queue"), context.DeadlineExceeded), Busy, true},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), TimedOut, true},
		{context.Canceled, ClientGone, true},
		{errors.New("disk on fire"), Internal, false},
	}
	for _, c := range cases {
		got, known := Of(c.err)
		if got != c.class || known != c.known {
			t.Errorf("Of(%v) = %s, %v; want %s, %v", c.err, got.Name, known, c.class.Name, c.known)
		}
	}
}

// The README lists every reason a default image can be served for.
func TestREADMEListsFallbackReasons(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `X-Avatar-Fallback` |") {
			row = line
		}
	}
	if row == "" {
		t.Fatal("README has no X-Avatar-Fallback row")
	}
	for _, c := range All {
		token := "`" + c.Name + "`"
		if c == UpstreamStatus || c == UpstreamServerFail {
			token = "`status-{code}`" // the reason carries the status
		}
		if c.Fallback && !strings.Contains(row, token) {
			t.Errorf("README's X-Avatar-Fallback row lacks %s", token)
		}
	}
}
