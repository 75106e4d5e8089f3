// Package testproc runs real processes for tests: the avatarproxy binary
// and the services the suite proves it against (redis-server, Prometheus,
// Varnish, Chromium), each on a free loopback port, its output kept for
// the failure message and the process killed when the test ends.
//
// It is imported by tests only.
package testproc

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/process"
)

// MustNotHang bounds every wait here. It is far above what any step takes,
// so that only a hang trips it.
const MustNotHang = 60 * time.Second

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := process.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// Need returns the path of an installed program, and fails the test when
// it is missing: `make test` installs every program the suite drives, so a
// missing one is a broken set-up, not a reason to skip.
func Need(t testing.TB, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		t.Fatalf("%s is not installed; `make test-deps` installs what the tests need", program)
	}
	return path
}

// RepoRoot is the repository's top directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Binary builds cmd/avatarproxy once per test process and returns its
// path. The file lives in a directory removed when the process exits only
// if the caller's TestMain calls Cleanup.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "avatarproxy-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "avatarproxy")
		buildErr = process.Build(binary)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// Cleanup removes what Binary built; call it from TestMain after m.Run.
func Cleanup() {
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
}

// Output collects a process's output while the test reads it.
type Output = process.Output

// Process is a running program, failing the test it belongs to when a
// wait on it fails.
type Process struct {
	*process.Process
	t testing.TB
}

// Start runs cmd with its output collected and kills it when the test
// ends if it is still running; on failure the output is logged.
func Start(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	proc, err := process.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{Process: proc, t: t}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", p.Name, p.Output)
		}
	})
	return p
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// Wait waits, within MustNotHang, for the process to exit.
func (p *Process) Wait() *os.ProcessState {
	p.t.Helper()
	state, ok := p.Process.Wait(MustNotHang)
	if !ok {
		p.t.Fatalf("%s still running %v after it was told to stop", p.Name, MustNotHang)
	}
	return state
}

// WaitTCP waits until addr accepts connections, failing the test if the
// process exits first or MustNotHang passes.
func (p *Process) WaitTCP(addr string) {
	p.t.Helper()
	if err := p.Process.WaitTCP(addr, MustNotHang); err != nil {
		p.t.Fatal(err)
	}
}

// WaitHTTP waits until url answers 200, failing the test as WaitTCP does.
func (p *Process) WaitHTTP(url string) {
	p.t.Helper()
	if err := p.Process.WaitHTTP(url, MustNotHang); err != nil {
		p.t.Fatal(err)
	}
}

// Env is the test's environment without AVATARPROXY_ overrides, which
// would change what the process under test reads, plus extra.
func Env(extra ...string) []string { return process.Env(extra...) }

// Proxy starts the avatarproxy binary with the configuration text (written
// to a file in dir, which is also the working directory; none when empty,
// for the embedded default) listening on addr, with env added to Env(), and
// waits until it answers /healthz.
func Proxy(t testing.TB, dir, addr, config string, env ...string) *Process {
	t.Helper()
	cmd, err := process.ProxyCommand(Binary(t), dir, addr, config, env...)
	if err != nil {
		t.Fatal(err)
	}
	p := Start(t, cmd)
	p.WaitHTTP("http://" + addr + "/healthz")
	return p
}

// Redis starts a redis-server on a free loopback port without persistence
// and returns it with its address.
func Redis(t testing.TB, extraArgs ...string) (*Process, string) {
	t.Helper()
	addr := FreeAddr(t)
	return RedisOn(t, addr, extraArgs...), addr
}

// RedisOn starts an empty redis-server without persistence on addr, for a
// test that stops Redis and starts it again where its clients expect it.
func RedisOn(t testing.TB, addr string, extraArgs ...string) *Process {
	t.Helper()
	bin := Need(t, "redis-server")
	_, port, _ := net.SplitHostPort(addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir()}, extraArgs...)
	p := Start(t, exec.Command(bin, args...))
	p.WaitTCP(addr)
	return p
}
