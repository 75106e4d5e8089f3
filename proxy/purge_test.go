package proxy

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakecdn"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// mustNotHang bounds waits for work that should happen promptly.
const mustNotHang = 10 * time.Second

func TestPurgeReachesCDNs(t *testing.T) {
	cdn := fakecdn.New(t)
	h := newHarness(t, func(c *config.Config) {
		c.HTTP.PurgeRequests = []config.PurgeRequest{
			cdn.VarnishPurge(),
			{Method: "POST", URL: cdn.URL + "/service/svc1/purge/{tag}", Headers: map[string]string{"Fastly-Key": "fastly-token"}},
			{
				Method:  "POST",
				URL:     cdn.URL + "/client/v4/zones/zone1/purge_cache",
				Headers: map[string]string{"Authorization": "Bearer cf-token"},
				Body:    `{"tags":["{tag}"]}`,
			},
		}
	})
	// A user id that the tag has to hash: the CDN must get the tag that the
	// avatar response carried.
	h.origin.set("Jane.Doe", testimages.PNG(testimages.Solid(16, 16, green)))
	r := h.get("/avatar/web/Jane.Doe")
	h.mustStatus(r, 200)
	fields := strings.Fields(r.Header.Get("Surrogate-Key"))
	if len(fields) != 2 {
		t.Fatalf("Surrogate-Key %q", r.Header.Get("Surrogate-Key"))
	}
	janeTag := fields[1]

	auth := http.Header{"Authorization": {"Bearer purge-secret"}}
	h.mustStatus(h.do("POST", "/purge/web/u", auth), 204)
	h.mustStatus(h.do("POST", "/purge/web/Jane.Doe", auth), 204)

	var got []fakecdn.Request
	for range 6 {
		got = append(got, cdn.Next(t))
	}
	find := func(match func(fakecdn.Request) bool) bool {
		for _, r := range got {
			if match(r) {
				return true
			}
		}
		return false
	}
	for _, tag := range []string{"avatar-web-u", janeTag} {
		if !find(func(r fakecdn.Request) bool {
			return r.Method == "PURGE" && r.Path == "/" && r.Header.Get("xkey-purge") == tag
		}) {
			t.Errorf("no Varnish PURGE with xkey-purge: %s", tag)
		}
		if !find(func(r fakecdn.Request) bool {
			return r.Method == "POST" && r.Path == "/service/svc1/purge/"+tag && r.Header.Get("Fastly-Key") == "fastly-token"
		}) {
			t.Errorf("no Fastly purge of %s with its key", tag)
		}
		if !find(func(r fakecdn.Request) bool {
			return r.Method == "POST" && r.Path == "/client/v4/zones/zone1/purge_cache" &&
				r.Header.Get("Authorization") == "Bearer cf-token" &&
				r.Header.Get("Content-Type") == "application/json" &&
				r.Body == `{"tags":["`+tag+`"]}`
		}) {
			t.Errorf("no Cloudflare purge of %s with its token and JSON body", tag)
		}
	}
	if t.Failed() {
		for _, r := range got {
			t.Logf("CDN got %s %s %v %q", r.Method, r.Path, r.Header, r.Body)
		}
	}
}

// A CDN that does not answer must not hold up the purge API.
func TestPurgeDoesNotWaitForCDN(t *testing.T) {
	cdn := fakecdn.New(t)
	release := cdn.HoldAll()
	defer release()
	h := newHarness(t, func(c *config.Config) { c.HTTP.PurgeRequests = []config.PurgeRequest{cdn.VarnishPurge()} })
	purge := func(user string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, h.http.URL+"/purge/web/"+user, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer purge-secret")
		client := &http.Client{Timeout: mustNotHang}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("purge of %s while the CDN is held: %v", user, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("purge of %s: status %d", user, res.StatusCode)
		}
	}

	purge("u")
	first := cdn.Next(t) // now held: the CDN has not answered
	if first.Header.Get("xkey-purge") != "avatar-web-u" {
		t.Fatalf("xkey-purge %q", first.Header.Get("xkey-purge"))
	}
	// While that request is held, purges still answer at once.
	purge("v")
	purge("u")
	release()
}

func TestPurgeMetricIsExported(t *testing.T) {
	h := newHarness(t, nil)
	text := metricsText(h)
	for _, result := range []string{"ok", "retry", "failed"} {
		if want := `avatarproxy_cdn_purges_total{result="` + result + `"} 0`; !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
