package main

import (
	"bytes"
	"flag"
	"os/exec"
	"sync"
	"testing"
	"time"
)

var soakDuration = flag.Duration("soak.duration", 60*time.Second, "how long TestSoak drives load (15s with -short unless set)")

// TestSoak runs the soak: go test ./cmd/avatarproxy-soak -soak.duration=10m
// for a long one.
func TestSoak(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build avatarproxy with")
	}
	d := *soakDuration
	if testing.Short() && !flagSet("soak.duration") {
		d = 15 * time.Second
	}
	if err := run(options{duration: d, concurrency: 16}, &lineLogger{t: t}); err != nil {
		t.Fatal(err)
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// lineLogger passes what the soak prints to t.Log a line at a time, so
// that `go test -v` shows progress as it comes.
type lineLogger struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			// An unfinished line waits for the rest.
			l.buf.Reset()
			l.buf.WriteString(line)
			return len(p), nil
		}
		l.t.Log(line[:len(line)-1])
	}
}
