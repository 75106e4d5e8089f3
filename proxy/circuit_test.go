package proxy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// One client asking again and again for an avatar its upstream times out
// on (each time with a new version token, which forces a fetch) does not
// open the circuit for the other users of the upstream; timeouts for as
// many different users as the breaker counts do.
func TestOneFailingUserDoesNotOpenTheCircuit(t *testing.T) {
	png := testimages.PNG(testimages.Solid(64, 64, green))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/a/slow") {
			<-r.Context().Done() // past the upstream's timeout
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	}))
	t.Cleanup(slow.Close)
	h := harnessWith(t, config.Upstream{
		Name: "slow", Kind: upstream.KindHTTP, URLTemplate: slow.URL + "/a/{user_id}",
		Timeout: config.Duration(100 * time.Millisecond), HeaderTimeout: config.Duration(100 * time.Millisecond),
	})
	fallback := func(path string) string {
		t.Helper()
		r := h.get(path)
		h.mustStatus(r, 200)
		return r.Header.Get("X-Avatar-Fallback")
	}

	for i := range 4 * upstream.DefaultBreakerFailures {
		if got := fallback(fmt.Sprintf("/avatar/slow/slow-one?v=%d", i)); got != "timeout" {
			t.Fatalf("request %d for the failing user: fallback %q, want timeout", i+1, got)
		}
	}
	if got := fallback("/avatar/slow/fine"); got != "" {
		t.Fatalf("another user after one user's timeouts: fallback %q, want the avatar", got)
	}

	for i := range upstream.DefaultBreakerFailures {
		if got := fallback(fmt.Sprintf("/avatar/slow/slow-%d", i)); got != "timeout" {
			t.Fatalf("failing user %d: fallback %q, want timeout", i, got)
		}
	}
	if got := fallback("/avatar/slow/fine-too"); got != "circuit-open" {
		t.Errorf("after timeouts of %d users: fallback %q, want circuit-open", upstream.DefaultBreakerFailures, got)
	}
}
