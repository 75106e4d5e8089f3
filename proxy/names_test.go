package proxy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// d=initials over an upstream that fails asks it for the user's name once,
// not on every request: the failure is remembered as a failed fetch is.
func TestInitialsRememberAFailedNameLookup(t *testing.T) {
	var nameCalls atomic.Int64
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/2.0/people/") && !strings.HasSuffix(r.URL.Path, "/photo") {
			nameCalls.Add(1)
		}
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	h := harnessWith(t, config.Upstream{
		Name: "ds", Kind: upstream.KindDocSpace, BaseURL: failing.URL, APIKey: dsKey,
	})
	for i := range 20 {
		r := h.get(fmt.Sprintf("/avatar/ds/u1?d=initials&format=png&size=%d", 20+i))
		h.mustStatus(r, 200)
	}
	if n := nameCalls.Load(); n != 1 {
		t.Errorf("20 requests asked the failing upstream for the name %d times, want 1", n)
	}
}

// A name is remembered under the user's generation: asked once for every
// size and format, and asked again after a purge, which may have come
// with a new name.
func TestInitialsRememberTheName(t *testing.T) {
	ds := fakeprovidertest.NewDocSpace(t, dsKey)
	ds.AddPerson("u1", "Ada", "Lovelace")
	h := harnessWith(t, config.Upstream{
		Name: "ds", Kind: upstream.KindDocSpace, BaseURL: ds.URL(), APIKey: dsKey,
	})
	lookups := func() int {
		n := 0
		for _, r := range ds.Requests() {
			if r.Route == fakeprovider.DocSpaceGetPerson {
				n++
			}
		}
		return n
	}
	for _, q := range []string{"size=20&format=png", "size=40&format=png", "size=40&format=webp", "size=20&format=jpeg"} {
		h.mustStatus(h.get("/avatar/ds/u1?d=initials&"+q), 200)
	}
	if n := lookups(); n != 1 {
		t.Errorf("four sizes and formats asked for the name %d times, want 1", n)
	}
	h.mustStatus(h.do("POST", "/purge/ds/u1", http.Header{"Authorization": {"Bearer purge-secret"}}), 204)
	h.mustStatus(h.get("/avatar/ds/u1?d=initials&size=20&format=png"), 200)
	if n := lookups(); n != 2 {
		t.Errorf("after a purge the name was asked for %d times in all, want 2", n)
	}
}
