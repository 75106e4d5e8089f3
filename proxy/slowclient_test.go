package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// dripBody is the body a slow client announces, sent a byte at a time
// every dripEvery: it would take 20 s to send whole.
const (
	dripBody  = 400
	dripEvery = 50 * time.Millisecond
)

// drip sends a request head announcing a dripBody-byte body to addr, then
// the body one byte at a time, until the server closes the connection or
// the body is complete. It returns how many body bytes were sent and
// whether the server closed the connection first.
func drip(t *testing.T, addr, head string) (sent int, cut bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "%sContent-Length: %d\r\n\r\n", head, dripBody); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		close(closed)
	}()
	tick := time.NewTicker(dripEvery)
	defer tick.Stop()
	for sent < dripBody {
		select {
		case <-closed:
			return sent, true
		case <-tick.C:
		}
		if _, err := conn.Write([]byte("x")); err != nil {
			return sent, true
		}
		sent++
	}
	return sent, false
}

// Clients that drip their body are cut off when body_timeout (webhooks,
// purges) or passthrough_body_timeout runs out, whatever the handler does
// with the body: reads it, ignores it, or forwards it.
func TestSlowBodiesAreCut(t *testing.T) {
	box := fakeprovidertest.NewBox(t, "service-token", "client-token")
	ds := fakeprovidertest.NewDocSpace(t, dsKey)
	h := newHarness(t, func(c *config.Config) {
		c.BodyTimeout = config.Duration(500 * time.Millisecond)
		c.PassthroughBodyTimeout = config.Duration(time.Second)
		c.Upstreams = append(c.Upstreams,
			config.Upstream{Name: "box", Kind: upstream.KindBox, BaseURL: box.BaseURL(), Token: "service-token", PassthroughPrefix: "/box"},
			config.Upstream{Name: "ds", Kind: upstream.KindDocSpace, BaseURL: ds.URL(), APIKey: dsKey, WebhookSecret: dsHook})
	})
	addr := strings.TrimPrefix(h.http.URL, "http://")
	wellFormedSignature := "X-Docspace-Signature-256: sha256=" + strings.Repeat("ab", 32) + "\r\n"
	for name, head := range map[string]string{
		"signed webhook": "POST /webhooks/ds HTTP/1.1\r\nHost: a\r\n" + wellFormedSignature,
		"bearer webhook": "POST /webhooks/ds HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + dsHook + "\r\n",
		"purge":          "POST /purge/web/u HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer purge-secret\r\n",
		"avatar":         "GET /avatar/web/u HTTP/1.1\r\nHost: a\r\n",
		"pass-through":   "POST /box/users/7/avatar HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer client-token\r\nContent-Type: multipart/form-data; boundary=b\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sent, cut := drip(t, addr, head)
			if !cut {
				t.Errorf("the connection stayed open while the whole %d-byte body dripped in", sent)
			}
			t.Logf("cut after %d of %d body bytes", sent, dripBody)
		})
	}
}

// What the headers alone can refuse is refused before any of the body is
// read: a client without credentials cannot hold a connection by promising
// a body.
func TestWebhookRefusedBeforeBody(t *testing.T) {
	ds := fakeprovidertest.NewDocSpace(t, dsKey)
	ac := fakeprovidertest.NewActiveCollab(t, acToken)
	h := newHarness(t, func(c *config.Config) {
		// Far beyond the wait below: the answer may not wait for it.
		c.BodyTimeout = config.Duration(time.Hour)
		c.Upstreams = append(c.Upstreams,
			config.Upstream{Name: "ds", Kind: upstream.KindDocSpace, BaseURL: ds.URL(), APIKey: dsKey, WebhookSecret: dsHook},
			config.Upstream{Name: "ac", Kind: upstream.KindActiveCollab, BaseURL: ac.URL(), Token: acToken, WebhookSecret: acHook})
	})
	for name, head := range map[string]string{
		"no credentials":      "POST /webhooks/ds HTTP/1.1\r\nHost: a\r\n",
		"wrong bearer":        "POST /webhooks/ds HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer nope\r\n",
		"malformed signature": "POST /webhooks/ds HTTP/1.1\r\nHost: a\r\nX-Docspace-Signature-256: sha256=zz\r\n",
		"wrong AC secret":     "POST /webhooks/ac HTTP/1.1\r\nHost: a\r\nX-Angie-WebhookSecret: nope\r\n",
		"unauthorised purge":  "POST /purge/web/u HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer nope\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(h.http.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// A body is announced and never sent.
			fmt.Fprintf(conn, "%sContent-Length: 1000\r\n\r\n", head)
			// Only a hang trips this.
			_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer before the body: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", res.StatusCode)
			}
		})
	}
}
