package proxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// A signature covers one (upstream, id, version) only: "/" in an id is
// escaped in the signed message, so the signature of "good.png" with v=v1
// does not sign the id "good.png/v1" without v. Ids without "/" or "%"
// keep the signatures they had.
func TestSignaturesAreUnambiguous(t *testing.T) {
	key := "k-0123456789abcdef"
	h := newHarness(t, func(c *config.Config) { c.Security.SigningKey = key })
	h.origin.set("good.png", testimages.PNG(testimages.Solid(64, 64, green)))
	withVersion := Sign([]byte(key), "web", "good.png", "v1")
	h.mustStatus(h.get("/avatar/web/good.png?v=v1&sig="+withVersion), 200)
	h.mustStatus(h.get("/avatar/web/good.png%2Fv1?sig="+withVersion), 403)
	h.mustStatus(h.get("/avatar/web/good.png%2Fv1?sig="+Sign([]byte(key), "web", "good.png/v1", "")), 200)
	// "%2F" spelled in an id is not "/" either.
	h.mustStatus(h.get("/avatar/web/a%252Fb?sig="+Sign([]byte(key), "web", "a/b", "")), 403)

	mac := func(msg string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(msg))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	for _, c := range []struct{ id, version, msg string }{
		{"u", "", "web/u"},
		{"jane.doe@example.com", "9", "web/jane.doe@example.com/9"},
		{"a/b", "", "web/a%2Fb"},
		{"100%", "", "web/100%25"},
	} {
		if got := Sign([]byte(key), "web", c.id, c.version); got != mac(c.msg) {
			t.Errorf("Sign(%q, %q) does not sign %q", c.id, c.version, c.msg)
		}
	}
}
