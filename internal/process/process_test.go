package process

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEnvDropsOverrides(t *testing.T) {
	t.Setenv("AVATARPROXY_LISTEN", ":1")
	env := Env("EXTRA=1")
	if slices.Contains(env, "AVATARPROXY_LISTEN=:1") || !slices.Contains(env, "EXTRA=1") {
		t.Errorf("Env() = %v, want no AVATARPROXY_ variable and EXTRA=1", env)
	}
}

func TestStartCollectsOutputAndExit(t *testing.T) {
	p, err := Start(exec.Command("sh", "-c", "echo one; echo two; echo three; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	state, ok := p.Wait(time.Minute)
	if !ok || state.ExitCode() != 3 || !p.Exited() || p.State() != state {
		t.Fatalf("Wait: %v, %v; want exit status 3", state, ok)
	}
	if got := p.Output.Tail(2); got != "two\nthree\n" {
		t.Errorf("Tail(2) = %q", got)
	}
	err = p.WaitHTTP("http://127.0.0.1:1/healthz", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("WaitHTTP on an exited process: %v, want an error saying it exited", err)
	}
}

func TestKillEndsTheProcess(t *testing.T) {
	p, err := Start(exec.Command("sleep", "600"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Exited() || p.State() != nil {
		t.Fatal("a sleeping process counts as exited")
	}
	p.Kill()
	if !p.Exited() {
		t.Error("still running after Kill")
	}
}

func TestRSSReadsTheKernelsCount(t *testing.T) {
	p, err := Start(exec.Command("sleep", "600"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	// The kernel counts a running process's pages in whole pages.
	rss, err := RSS(p.Cmd.Process.Pid)
	if err != nil || rss <= 0 || rss%1024 != 0 {
		t.Errorf("RSS of a running sleep = %d, %v; want a positive number of KiB", rss, err)
	}
	p.Kill()
	if rss, err := RSS(p.Cmd.Process.Pid); err == nil {
		t.Errorf("RSS of an ended process = %d, want an error", rss)
	}
}
