// Package process runs a program with its output collected and tells when
// it has exited, for the tests (through testproc) and the soak, which
// build and supervise the avatarproxy binary and the services around it.
// It links no testing code.
package process

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Output collects a process's output while others read it.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Tail returns the last n lines of the output.
func (b *Output) Tail(n int) string {
	lines := strings.SplitAfter(b.String(), "\n")
	return strings.Join(lines[max(0, len(lines)-n-1):], "")
}

// Env is this process's environment without AVATARPROXY_ overrides, which
// would change what the program started reads, plus extra.
func Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AVATARPROXY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Process is a running program.
type Process struct {
	Name   string
	Cmd    *exec.Cmd
	Output *Output
	exited chan struct{} // closed once the process has been waited for
	state  *os.ProcessState
}

// Start runs cmd with its output collected.
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{Name: filepath.Base(cmd.Path), Cmd: cmd, Output: new(Output), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Output, p.Output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", p.Name, err)
	}
	go func() {
		cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	return p, nil
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.exited }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// State is how the process ended; nil while it runs.
func (p *Process) State() *os.ProcessState {
	if !p.Exited() {
		return nil
	}
	return p.state
}

// Kill ends the process at once and waits for it.
func (p *Process) Kill() {
	if !p.Exited() {
		p.Cmd.Process.Kill()
		<-p.exited
	}
}

// Wait waits at most timeout for the process to exit; false when it still
// runs.
func (p *Process) Wait(timeout time.Duration) (*os.ProcessState, bool) {
	select {
	case <-p.exited:
		return p.state, true
	case <-time.After(timeout):
		return nil, false
	}
}

// WaitTCP waits until addr accepts connections.
func (p *Process) WaitTCP(addr string, timeout time.Duration) error {
	return p.waitFor(addr, timeout, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// WaitHTTP waits until url answers 200.
func (p *Process) WaitHTTP(url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return p.waitFor(url, timeout, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitFor polls ready until it holds, the process exits, or timeout passes.
func (p *Process) waitFor(what string, timeout time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ready() {
		if p.Exited() {
			return fmt.Errorf("%s exited (%v) before %s was ready:\n%s", p.Name, p.state, what, p.Output)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not ready after %v:\n%s", p.Name, what, timeout, p.Output.Tail(30))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
