package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The soak binary, and the packages made to be linked into commands,
// carry no testing code: what is linked is what runs.
func TestLinksNoTestingCode(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list the packages with")
	}
	out, err := exec.Command("go", "list", "-deps", ".",
		"../../internal/fakeprovider", "../../internal/hostile", "../../internal/bombs", "../../internal/testimages", "../../internal/process").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/avatarproxy/avatarproxy/internal/hostile") {
		t.Fatalf("go list -deps did not list the packages asked for:\n%s", out)
	}
	for _, testOnly := range []string{"testing", "net/http/httptest"} {
		if slices.Contains(deps, testOnly) {
			t.Errorf("%s is linked into the soak binary or a package it may use", testOnly)
		}
	}
}
