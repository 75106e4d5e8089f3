package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run measured.
type wrkResult struct {
	rps float64
	p99 time.Duration
}

// pathsScript makes wrk cycle through a list of paths, one per line of a
// file, each thread starting at its own offset.
const pathsScript = `
local paths = {}
for line in io.lines(%q) do paths[#paths + 1] = line end
local i = 0
init = function(args) i = math.random(#paths) end
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
`

// runWrk loads base+path (or base+each of paths, cycling) with conns
// connections from the load CPUs.
func (e *env) runWrk(base string, paths []string, conns int, header string) (wrkResult, error) {
	args := []string{"-c", e.o.loadCPU, "wrk", "-t1", "-c", strconv.Itoa(conns), "-d", e.o.duration.String(), "--latency"}
	if header != "" {
		args = append(args, "-H", header)
	}
	if len(paths) > 1 {
		list := filepath.Join(e.dir, fmt.Sprintf("paths-%d.txt", time.Now().UnixNano()))
		if err := os.WriteFile(list, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
			return wrkResult{}, err
		}
		script := list + ".lua"
		if err := os.WriteFile(script, []byte(fmt.Sprintf(pathsScript, list)), 0o644); err != nil {
			return wrkResult{}, err
		}
		args = append(args, "-s", script)
	}
	args = append(args, "http://"+base+paths[0])
	out, err := exec.Command("taskset", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	return parseWrk(string(out))
}

var (
	wrkRPS    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99    = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)\b`)
	wrkErrors = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

func parseWrk(out string) (wrkResult, error) {
	m := wrkRPS.FindStringSubmatch(out)
	p := wrkP99.FindStringSubmatch(out)
	if m == nil || p == nil {
		return wrkResult{}, fmt.Errorf("cannot read wrk's output:\n%s", out)
	}
	if bad := wrkErrors.FindStringSubmatch(out); bad != nil {
		return wrkResult{}, fmt.Errorf("wrk saw %s responses that were not 2xx or 3xx", bad[1])
	}
	rps, _ := strconv.ParseFloat(m[1], 64)
	v, _ := strconv.ParseFloat(p[1], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[2]]
	return wrkResult{rps: rps, p99: time.Duration(v * float64(unit))}, nil
}
