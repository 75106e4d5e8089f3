package proxy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// The user a pass-through upload purges is the one the upstream changed:
// the path is decoded once, as Box decodes it, so %2561lice is user
// "%61lice", not "alice".
func TestPassthroughPurgesTheUserTheUpstreamChanged(t *testing.T) {
	box := fakeprovidertest.NewBox(t, "service-token", "client-token")
	h := harnessWith(t, config.Upstream{
		Name: "box", Kind: "box", BaseURL: box.BaseURL(), Token: "service-token", PassthroughPrefix: "/box",
	})
	box.SetAvatar("%61lice", testimages.SeededJPEG("before", 120, 120))
	box.SetAvatar("alice", testimages.SeededJPEG("alice", 120, 120))
	// The avatar face takes the id escaped once, as URLs do.
	before := h.snapshot("box", "%2561lice")
	alice := h.snapshot("box", "alice")

	body, ct := multipartBody(t, nil, "pic", "me.jpg", testimages.SeededJPEG("after", 120, 120))
	h.mustStatus(h.send("POST", "/box/users/%2561lice/avatar",
		http.Header{"Authorization": {"Bearer client-token"}, "Content-Type": {ct}}, body), 200)
	if img, _ := box.Avatar("%61lice"); len(img) == 0 {
		t.Fatal("the upload did not reach user %61lice at Box")
	}
	h.mustDiffer(before, h.snapshot("box", "%2561lice"), "the user Box changed")
	h.mustEqual(alice, h.snapshot("box", "alice"), "another user")
}

// Dot segments, in any encoding, are refused before anything is
// forwarded: the upstream could resolve them out of base_url's path.
func TestPassthroughRefusesDotSegments(t *testing.T) {
	box := fakeprovidertest.NewBox(t, "service-token", "client-token")
	h := harnessWith(t, config.Upstream{
		Name: "box", Kind: "box", BaseURL: box.BaseURL(), Token: "service-token", PassthroughPrefix: "/box",
	})
	client := http.Header{"Authorization": {"Bearer client-token"}}
	for _, path := range []string{
		"/box/users/%2e%2e/%2e%2e/admin",
		"/box/users/%2E%2e/x",
		"/box/users/.%2e/x",
		"/box/users/%2e/1001/avatar",
		"/box/users/..;x=1/x",
		"/box/users/%252e%252e/x",
		"/box/%2e%2e",
	} {
		r := h.send("POST", path, client, strings.NewReader("{}"))
		if r.StatusCode != 400 || !strings.Contains(string(r.body), "dot segments") {
			t.Errorf("POST %s: %d %q, want 400 naming dot segments", path, r.StatusCode, r.body)
		}
	}
	if reqs := box.Requests(); len(reqs) != 0 {
		t.Errorf("forwarded to Box: %+v", reqs)
	}
	// An escaped prefix is not one the forwarded path could be cut from.
	h.mustStatus(h.send("GET", "/b%6Fx/users/1001/avatar", client, nil), 400)
	// What stays is forwarded.
	h.mustStatus(h.send("GET", "/box/users/1001/avatar", client, nil), 404)
}
