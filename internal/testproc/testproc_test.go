package testproc

import (
	"bufio"
	"net"
	"testing"
	"time"
)

func TestRedisAnswersOnItsPort(t *testing.T) {
	p, addr := Redis(t)
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "+PONG\r\n" {
		t.Fatalf("PING answered %q, %v", line, err)
	}
	p.Kill()
	if !p.Exited() {
		t.Fatal("redis-server still running after Kill")
	}
}
