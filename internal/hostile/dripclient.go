package hostile

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// WebhookDripHead is the request head of a slow-drip client on the webhook
// of the DocSpace upstream named upstream. Its signature is well formed, so
// the proxy must read the body to verify it.
func WebhookDripHead(upstream string) string {
	return "POST /webhooks/" + upstream + " HTTP/1.1\r\nHost: drip\r\n" +
		"X-Docspace-Signature-256: sha256=" + strings.Repeat("ab", 32) + "\r\n"
}

// UploadDripHead is the request head of a slow-drip client uploading an
// avatar through the pass-through at prefix.
func UploadDripHead(prefix string) string {
	return "POST " + prefix + "/users/1/avatar HTTP/1.1\r\nHost: drip\r\nContent-Type: application/octet-stream\r\n"
}

// DripRequest is a client holding a connection open as an attacker would: it
// sends head announcing a body of n bytes, then the body one byte every
// every, until the body is whole, the server hangs up, or stop is closed
// (nil never is). sent counts the body bytes written; cut tells that the
// server hung up before the body was whole. err reports a head that could
// not be written, with nothing sent.
func DripRequest(conn net.Conn, head string, n int, every time.Duration, stop <-chan struct{}) (sent int, cut bool, err error) {
	if _, err := fmt.Fprintf(conn, "%sContent-Length: %d\r\n\r\n", head, n); err != nil {
		return 0, false, err
	}
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		close(closed)
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for sent < n {
		select {
		case <-stop:
			return sent, false, nil
		case <-closed:
			return sent, true, nil
		case <-tick.C:
		}
		if _, err := conn.Write([]byte{'x'}); err != nil {
			return sent, true, nil
		}
		sent++
	}
	return sent, false, nil
}
