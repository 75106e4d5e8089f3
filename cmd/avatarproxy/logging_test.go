package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// accessLines returns the access lines of a JSON log, but for /healthz:
// startProxy asks it while waiting for the process.
func accessLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if entry["msg"] == "request" && entry["route"] != "healthz" {
			lines = append(lines, entry)
		}
	}
	return lines
}

func loggingProxy(t *testing.T, format, level string) *proxyProcess {
	t.Helper()
	root := t.TempDir()
	copyFile(t, filepath.Join(testproc.RepoRoot(t), "examples", "avatars", "alice.jpg"), filepath.Join(root, "alice.jpg"))
	addr := testproc.FreeAddr(t)
	return startProxy(t, t.TempDir(), addr, fmt.Sprintf(`
listen: %q
upstreams:
  - {name: pics, kind: file, root: %q}
log: {format: %s, level: %s}
`, addr, root, format, level))
}

// Every request gets one access line naming its request id, route,
// upstream, cache status, status and size; the id is the client's sane
// X-Request-Id or one made up, echoed either way; no query string is logged.
func TestAccessLog(t *testing.T) {
	p := loggingProxy(t, "json", "info")
	client := &http.Client{Timeout: mustNotHang}
	resp, body := get(t, client, p.url+"/avatar/pics/alice?size=37&v=secretish", "X-Request-Id", "trace-42")
	if got := resp.Header.Get("X-Request-Id"); got != "trace-42" {
		t.Errorf("X-Request-Id echoed %q, want trace-42", got)
	}
	again, _ := get(t, client, p.url+"/avatar/pics/alice?size=37&v=secretish", "X-Request-Id", "not a token!")
	made := again.Header.Get("X-Request-Id")
	if made == "" || made == "not a token!" {
		t.Errorf("X-Request-Id for an unusable client id: %q, want one made up", made)
	}
	get(t, client, p.url+"/avatar/nowhere/alice")

	// A line is written once its response is out: wait for the last.
	var lines []map[string]any
	for deadline := time.Now().Add(mustNotHang); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if lines = accessLines(t, p.Output.String()); len(lines) >= 3 {
			break
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d access lines, want 3:\n%s", len(lines), p.Output.String())
	}
	want := []map[string]any{
		{"id": "trace-42", "method": "GET", "route": "avatar", "upstream": "pics", "cache": "MISS",
			"status": 200.0, "bytes": float64(len(body)), "path": "/avatar/pics/alice"},
		{"id": made, "route": "avatar", "cache": "HIT", "status": 200.0},
		{"route": "avatar", "upstream": "nowhere", "cache": "", "status": 404.0},
	}
	for i, w := range want {
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("access line %d: %s = %v, want %v", i, k, lines[i][k], v)
			}
		}
		if _, ok := lines[i]["duration"]; !ok {
			t.Errorf("access line %d has no duration", i)
		}
	}
	if strings.Contains(p.Output.String(), "secretish") {
		t.Errorf("the log holds a query string:\n%s", p.Output.String())
	}
}

// At level warn there are no access lines; the text format is key=value.
func TestAccessLogLevelAndFormat(t *testing.T) {
	quiet := loggingProxy(t, "json", "warn")
	client := &http.Client{Timeout: mustNotHang}
	get(t, client, quiet.url+"/avatar/pics/alice?size=20")
	if lines := accessLines(t, quiet.Output.String()); len(lines) != 0 {
		t.Errorf("access lines at level warn: %v", lines)
	}

	text := loggingProxy(t, "text", "info")
	get(t, client, text.url+"/avatar/pics/alice?size=20", "X-Request-Id", "t-1")
	const want = "msg=request id=t-1 method=GET route=avatar upstream=pics cache=MISS"
	for deadline := time.Now().Add(mustNotHang); !strings.Contains(text.Output.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no text access line in:\n%s", text.Output.String())
		}
	}
}
