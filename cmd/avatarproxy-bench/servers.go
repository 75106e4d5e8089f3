package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/process"
)

// server is one process the benchmark started.
type server struct {
	name string
	proc *process.Process
	addr string
	log  string // where its output is written when it is stopped
}

// env is every server of a run, with the addresses clients use.
type env struct {
	dir string
	o   options
	set *imageSet

	proxy, nginx, imgproxy *server

	staticAddr  string // nginx: the proxy's own output bytes as files
	cacheAddr   string // nginx proxy_cache in front of imgproxy
	originProxy string // nginx: originals for avatarproxy (its own access log)
	originImg   string // nginx: originals for imgproxy (its own access log)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// pinSelf moves every thread of this process onto cpus.
func pinSelf(cpus string) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset (util-linux): %v: %s", err, out)
	}
	return nil
}

// start runs a server pinned to the server CPUs and waits for addr.
func (e *env) start(name, addr string, environ []string, args ...string) (*server, error) {
	cmd := exec.Command("taskset", append([]string{"-c", e.o.serverCPU}, args...)...)
	cmd.Env = append(os.Environ(), environ...)
	// A group of its own, so that stopping the server stops its workers
	// too (nginx's outlive a killed master).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	proc, err := process.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s := &server{name: name, proc: proc, addr: addr, log: filepath.Join(e.dir, name+".log")}
	if err := proc.WaitTCP(addr, 30*time.Second); err != nil {
		s.kill()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// kill stops the server and its process group, and keeps its output.
func (s *server) kill() {
	if s == nil {
		return
	}
	syscall.Kill(-s.proc.Cmd.Process.Pid, syscall.SIGKILL)
	<-s.proc.Done()
	os.WriteFile(s.log, []byte(s.proc.Output.String()), 0o644)
}

// rss is the resident memory of the server and all its descendants.
func (s *server) rss() int64 {
	if s == nil {
		return 0
	}
	return treeRSS(s.proc.Cmd.Process.Pid)
}

// treeRSS sums the resident sets of pid and its descendants; a process
// gone meanwhile counts 0.
func treeRSS(pid int) int64 {
	total, _ := process.RSS(pid)
	children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(children)) {
		if child, err := strconv.Atoi(f); err == nil {
			total += treeRSS(child)
		}
	}
	return total
}

func startServers(o options, dir string, set *imageSet) (*env, error) {
	e := &env{dir: dir, o: o, set: set}
	var err error
	addrs := make([]string, 6)
	for i := range addrs {
		if addrs[i], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	proxyAddr, imgAddr := addrs[0], addrs[1]
	e.staticAddr, e.cacheAddr, e.originProxy, e.originImg = addrs[2], addrs[3], addrs[4], addrs[5]
	if err := os.MkdirAll(filepath.Join(dir, "static"), 0o755); err != nil {
		return nil, err
	}
	if err := e.startNginx(imgAddr); err != nil {
		return nil, err
	}
	if err := e.startProxy(proxyAddr); err != nil {
		e.stop()
		return nil, err
	}
	if o.imgproxyBin != "" {
		e.imgproxy, err = e.start("imgproxy", imgAddr, []string{
			"IMGPROXY_BIND=" + imgAddr,
			"IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES=true",
			// The proxy's qualities: imgproxy's own defaults differ
			// (WebP 79), and the files are compared byte for byte.
			"IMGPROXY_QUALITY=80",
			"IMGPROXY_FORMAT_QUALITY=webp=80,avif=63",
			"IMGPROXY_AUTO_AVIF=true",
			"IMGPROXY_AUTO_WEBP=true",
			"IMGPROXY_AVIF_SPEED=8",
			"IMGPROXY_STRIP_METADATA=true",
			"IMGPROXY_LOG_LEVEL=error",
		}, o.imgproxyBin)
		if err != nil {
			e.stop()
			return nil, err
		}
	}
	return e, nil
}

func (e *env) startProxy(addr string) error {
	cfg := fmt.Sprintf(`listen: %q
upstreams:
  - {name: o, kind: http, url_template: "http://%s/{user_id}", timeout: 30s}
cache: {max_bytes: 256MiB}
resize: {quality: 80, avif_quality: 63}
log: {level: warn}  # no access lines, as the nginx servers measured keep none
`, addr, e.originProxy)
	path := filepath.Join(e.dir, "avatarproxy.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	var err error
	e.proxy, err = e.start("avatarproxy", addr, nil, e.o.proxyBin, "-config", path)
	return err
}

// restartProxy starts the proxy afresh, with empty caches.
func (e *env) restartProxy() error {
	addr := e.proxy.addr
	e.proxy.kill()
	return e.startProxy(addr)
}

func (e *env) stop() {
	e.proxy.kill()
	e.imgproxy.kill()
	e.nginx.kill()
}
