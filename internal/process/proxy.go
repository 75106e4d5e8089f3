package process

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Build compiles the avatarproxy command into the file out. It runs the go
// command in the working directory, which must lie within the module.
func Build(out string) error {
	cmd := exec.Command("go", "build", "-o", out, "github.com/avatarproxy/avatarproxy/cmd/avatarproxy")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, b)
	}
	return nil
}

// ProxyCommand prepares the avatarproxy binary bin to run in dir with the
// configuration text written to a file there, named after addr so that
// several proxies may share dir, and with env added to Env(). An empty
// config writes no file: the binary then runs its embedded default.
func ProxyCommand(bin, dir, addr, config string, env ...string) (*exec.Cmd, error) {
	var args []string
	if config != "" {
		path := filepath.Join(dir, fmt.Sprintf("avatarproxy-%s.yaml", strings.ReplaceAll(addr, ":", "-")))
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			return nil, err
		}
		args = []string{"-config", path}
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = Env(env...)
	return cmd, nil
}

// StartProxy runs the command ProxyCommand prepares and waits at most
// timeout until it answers /healthz on addr; on failure the process is
// killed.
func StartProxy(bin, dir, addr, config string, timeout time.Duration, env ...string) (*Process, error) {
	cmd, err := ProxyCommand(bin, dir, addr, config, env...)
	if err != nil {
		return nil, err
	}
	p, err := Start(cmd)
	if err != nil {
		return nil, err
	}
	if err := p.WaitHTTP("http://"+addr+"/healthz", timeout); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}
