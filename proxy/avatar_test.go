package proxy

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/resize"
)

var (
	red   = color.NRGBA{220, 30, 30, 255}
	green = color.NRGBA{30, 200, 60, 255}
	blue  = color.NRGBA{30, 60, 220, 255}
)

func TestSizeGivesExactSquare(t *testing.T) {
	h := newHarness(t, nil)
	h.writeFile("wide.jpg", testimages.JPEG(testimages.Solid(300, 120, red), 90))
	for _, size := range []int{1, 20, 64, 80, 255, 1024} {
		r := h.get(fmt.Sprintf("/avatar/local/wide?size=%d&format=png", size))
		h.mustStatus(r, 200)
		info := imageInfo(t, r.body)
		if info.Width != size || info.Height != size {
			t.Errorf("size=%d: got %dx%d", size, info.Width, info.Height)
		}
	}
}

func TestMissingOrTemplateSizeIsDefault(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Resize.DefaultSize = 48 })
	h.writeFile("u.png", testimages.PNG(testimages.Solid(100, 100, blue)))
	for _, q := range []string{"", "?size=", "?size=--SIZE--"} {
		r := h.get("/avatar/local/u" + q)
		h.mustStatus(r, 200)
		if info := imageInfo(t, r.body); info.Width != 48 {
			t.Errorf("%q: width %d, want the default 48", q, info.Width)
		}
	}
}

func TestBadParametersAre400NamingThem(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Resize.Formats = []string{"webp"} })
	h.writeFile("u.png", testimages.PNG(testimages.Solid(10, 10, blue)))
	cases := map[string]string{
		"size=abc":                      "size",
		"size=0":                        "size",
		"size=-5":                       "size",
		"size=1025":                     "size",
		"size=99999999999999999999999":  "size",
		"size=%2B5":                     "size",
		"size=5.5":                      "size",
		"dpr=4":                         "dpr",
		"dpr=0":                         "dpr",
		"dpr=1.5":                       "dpr",
		"format=bmp":                    "format",
		"format=avif":                   "format", // not enabled here
		"d=robots":                      "d",
		"s=0":                           "s",
		"size=20&s=30":                  "s",
		"crop=smart":                    "crop",
		"v=a/b":                         "v",
		"v=" + strings.Repeat("x", 200): "v",
		"sise=64":                       "sise",
		"size=64&size=32":               "size",
		"size=%zz":                      "query",
		"v=1&timestamp=2":               "timestamp",
	}
	for query, param := range cases {
		r := h.get("/avatar/local/u?" + query)
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", query, r.StatusCode)
			continue
		}
		msg := string(r.body)
		if strings.Count(strings.TrimSpace(msg), "\n") != 0 || !strings.Contains(msg, param) {
			t.Errorf("%s: message %q should be one line naming %q", query, msg, param)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s: Content-Type %q", query, ct)
		}
	}
}

func TestAllowListRoundsUp(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Resize.Sizes = []int{32, 64, 128} })
	h.writeFile("u.png", testimages.PNG(testimages.Solid(300, 300, blue)))
	for req, want := range map[int]int{1: 32, 32: 32, 33: 64, 100: 128, 500: 128} {
		r := h.get(fmt.Sprintf("/avatar/local/u?size=%d&format=png", req))
		h.mustStatus(r, 200)
		if got := imageInfo(t, r.body).Width; got != want {
			t.Errorf("size=%d: got %d, want %d", req, got, want)
		}
	}
}

func TestDPRMultipliesAndCaps(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Resize.MaxSize = 200 })
	h.writeFile("u.png", testimages.PNG(testimages.Solid(50, 50, blue)))
	for q, want := range map[string]int{"size=40": 40, "size=40&dpr=2": 80, "size=40&dpr=3": 120, "size=90&dpr=3": 200} {
		r := h.get("/avatar/local/u?format=png&" + q)
		h.mustStatus(r, 200)
		if got := imageInfo(t, r.body).Width; got != want {
			t.Errorf("%s: got %d, want %d", q, got, want)
		}
	}
}

func TestExplicitFormats(t *testing.T) {
	h := newHarness(t, nil)
	h.writeFile("u.jpg", testimages.JPEG(testimages.Solid(64, 64, green), 90))
	for f, ct := range map[string]string{"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"} {
		r := h.get("/avatar/local/u?size=32&format=" + f)
		h.mustStatus(r, 200)
		if got := r.Header.Get("Content-Type"); got != ct {
			t.Errorf("format=%s: Content-Type %q, want %q", f, got, ct)
		}
		if info := imageInfo(t, r.body); string(info.Format) != f && !(f == "avif" && info.Format == resize.HEIF) {
			t.Errorf("format=%s: bytes are %s", f, info.Format)
		}
		if r.Header.Get("Vary") != "" {
			t.Errorf("format=%s: Vary %q on an explicit format", f, r.Header.Get("Vary"))
		}
	}
}

func TestAutoNegotiatesFromAccept(t *testing.T) {
	h := newHarness(t, nil)
	h.writeFile("photo.jpg", testimages.JPEG(testimages.Solid(64, 64, green), 90))
	h.writeFile("cutout.png", testimages.PNG(testimages.Solid(64, 64, color.NRGBA{0, 0, 255, 100})))
	cases := []struct{ user, accept, want string }{
		{"photo", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "image/avif"},
		{"photo", "image/webp,*/*", "image/webp"},
		{"photo", "image/avif;q=0,image/webp", "image/webp"},
		{"photo", "*/*", "image/jpeg"},
		{"photo", "", "image/jpeg"},
		{"cutout", "image/*,*/*", "image/png"},
	}
	for _, c := range cases {
		r := h.do("GET", "/avatar/local/"+c.user+"?size=32", http.Header{"Accept": {c.accept}})
		h.mustStatus(r, 200)
		if got := r.Header.Get("Content-Type"); got != c.want {
			t.Errorf("%s with Accept %q: %q, want %q", c.user, c.accept, got, c.want)
		}
		if r.Header.Get("Vary") != "Accept" {
			t.Errorf("%s with Accept %q: Vary %q, want Accept", c.user, c.accept, r.Header.Get("Vary"))
		}
	}
	// Alpha is kept where the format has it.
	r := h.do("GET", "/avatar/local/cutout?size=32", http.Header{"Accept": {"*/*"}})
	if px := pixelAt(t, r.body, 16, 16); px.A > 140 || px.A < 60 {
		t.Errorf("translucent source came out with alpha %d", px.A)
	}
}

func TestFormatsConfigDisablesNegotiation(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Resize.Formats = []string{"webp"} })
	h.writeFile("u.jpg", testimages.JPEG(testimages.Solid(64, 64, green), 90))
	r := h.do("GET", "/avatar/local/u", http.Header{"Accept": {"image/avif,image/webp"}})
	if got := r.Header.Get("Content-Type"); got != "image/webp" {
		t.Fatalf("avif disabled: got %q, want image/webp", got)
	}
}

func TestCachingHeaders(t *testing.T) {
	h := newHarness(t, nil)
	h.writeFile("Jane.Doe@Example.com.png", testimages.PNG(testimages.Solid(64, 64, blue)))
	h.writeFile("bob.png", testimages.PNG(testimages.Solid(64, 64, red)))

	r := h.get("/avatar/local/bob?size=40")
	h.mustStatus(r, 200)
	want := map[string]string{
		"Cache-Control":  "public, max-age=300, stale-while-revalidate=60, stale-if-error=86400",
		"Surrogate-Key":  "avatar avatar-local-bob",
		"Cache-Tag":      "avatar avatar-local-bob",
		"X-Cache":        "MISS",
		"Content-Length": fmt.Sprint(len(r.body)),
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if etag := r.Header.Get("ETag"); !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
		t.Errorf("ETag %q is not a strong quoted tag", etag)
	}
	if again := h.get("/avatar/local/bob?size=40"); again.Header.Get("X-Cache") != "HIT" || !bytes.Equal(again.body, r.body) {
		t.Errorf("second request: X-Cache %q, same bytes %v", again.Header.Get("X-Cache"), bytes.Equal(again.body, r.body))
	}

	// A user id that is not tag-safe is hashed into one that is.
	r = h.get("/avatar/local/Jane.Doe@Example.com?size=40")
	h.mustStatus(r, 200)
	tag := r.Header.Get("Surrogate-Key")
	if !strings.HasPrefix(tag, "avatar avatar-local-") || strings.ContainsAny(strings.TrimPrefix(tag, "avatar avatar-local-"), ".@ABCDEFGHIJKLMNOPQRSTUVWXYZ_") {
		t.Errorf("purge tag %q is not reduced to [a-z0-9-]", tag)
	}

	// Versioned URLs are immutable.
	r = h.get("/avatar/local/bob?size=40&v=17")
	if got := r.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("versioned Cache-Control %q", got)
	}
}

func TestPurgeTagHeaderNamesAreConfigurable(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.HTTP.PurgeTagHeaders = []string{"xkey"} })
	h.writeFile("bob.png", testimages.PNG(testimages.Solid(64, 64, red)))
	r := h.get("/avatar/local/bob")
	if r.Header.Get("xkey") != "avatar avatar-local-bob" || r.Header.Get("Surrogate-Key") != "" {
		t.Fatalf("xkey %q, Surrogate-Key %q", r.Header.Get("xkey"), r.Header.Get("Surrogate-Key"))
	}
}

func TestETagIsStableAcrossReplicasAndDistinctAcrossVariants(t *testing.T) {
	a := newHarness(t, nil)
	b := newHarness(t, nil)
	src := testimages.JPEG(testimages.Solid(90, 60, green), 90)
	a.writeFile("u.jpg", src)
	b.writeFile("u.jpg", src)
	seen := map[string]string{}
	for _, q := range []string{"size=40&format=png", "size=41&format=png", "size=40&format=webp", "size=40&format=jpeg"} {
		ra, rb := a.get("/avatar/local/u?"+q), b.get("/avatar/local/u?"+q)
		ea, eb := ra.Header.Get("ETag"), rb.Header.Get("ETag")
		if ea != eb {
			t.Errorf("%s: replicas disagree: %s vs %s", q, ea, eb)
		}
		if prev, dup := seen[ea]; dup {
			t.Errorf("%s and %s share ETag %s", q, prev, ea)
		}
		seen[ea] = q
	}
}

func TestConditionalAndHead(t *testing.T) {
	h := newHarness(t, nil)
	h.writeFile("u.png", testimages.PNG(testimages.Solid(64, 64, red)))
	full := h.get("/avatar/local/u?size=50")
	etag := full.Header.Get("ETag")

	for _, inm := range []string{etag, `"nope", ` + etag, "W/" + etag, "*"} {
		r := h.do("GET", "/avatar/local/u?size=50", http.Header{"If-None-Match": {inm}})
		h.mustStatus(r, http.StatusNotModified)
		if len(r.body) != 0 || r.Header.Get("ETag") != etag || r.Header.Get("Cache-Control") != full.Header.Get("Cache-Control") {
			t.Errorf("If-None-Match %s: body %d bytes, ETag %q, Cache-Control %q", inm, len(r.body), r.Header.Get("ETag"), r.Header.Get("Cache-Control"))
		}
	}
	r := h.do("GET", "/avatar/local/u?size=50", http.Header{"If-None-Match": {`"other"`}})
	h.mustStatus(r, 200)

	head := h.do("HEAD", "/avatar/local/u?size=50", nil)
	h.mustStatus(head, 200)
	if len(head.body) != 0 {
		t.Errorf("HEAD sent %d bytes of body", len(head.body))
	}
	for _, k := range []string{"Content-Type", "Content-Length", "ETag", "Cache-Control", "Surrogate-Key"} {
		if head.Header.Get(k) != full.Header.Get(k) {
			t.Errorf("HEAD %s = %q, GET has %q", k, head.Header.Get(k), full.Header.Get(k))
		}
	}
}

func TestNoAvatarServesTheDefault(t *testing.T) {
	h := newHarness(t, nil)
	r := h.get("/avatar/local/ghost?size=64&format=png")
	mustImage(h, r, "public, max-age=60", 64) // a negative entry's identicon
	other := h.get("/avatar/local/phantom?size=64&format=png")
	if bytes.Equal(other.body, r.body) {
		t.Error("two users got the same identicon")
	}
	again := h.get("/avatar/local/ghost?size=64&format=png")
	if !bytes.Equal(again.body, r.body) || again.Header.Get("X-Cache") != "HIT" {
		t.Error("identicon is not deterministic or not cached")
	}

	r = h.get("/avatar/local/ghost?d=404")
	h.mustStatus(r, 404)
	if got := r.Header.Get("Cache-Control"); got != "public, max-age=60" {
		t.Errorf("d=404 Cache-Control %q", got)
	}

	r = h.get("/avatar/local/ghost?d=blank&format=png&size=16")
	h.mustStatus(r, 200)
	if px := pixelAt(t, r.body, 8, 8); px.A != 0 {
		t.Errorf("blank is not transparent: %v", px)
	}

	r = h.get("/avatar/local/ghost?d=mp&format=png&size=64")
	h.mustStatus(r, 200)
	if bytes.Equal(r.body, other.body) {
		t.Error("mp looks like an identicon")
	}

	// initials without a name to draw from falls back to the identicon.
	r = h.get("/avatar/local/ghost?d=initials&size=64&format=png")
	h.mustStatus(r, 200)
	identicon := h.get("/avatar/local/ghost?d=identicon&size=64&format=png")
	if !bytes.Equal(r.body, identicon.body) {
		t.Error("initials with no name did not fall back to the identicon")
	}
}

func TestDefaultAvatarConfig(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.DefaultAvatar = "404" })
	h.mustStatus(h.get("/avatar/local/ghost"), 404)
	h.mustStatus(h.get("/avatar/local/ghost?d=mp"), 200)
}

func TestNegativeResultIsCachedForNegativeTTL(t *testing.T) {
	h := newHarness(t, nil)
	h.get("/avatar/web/late")
	h.get("/avatar/web/late")
	if n := h.origin.gets.Load(); n != 1 {
		t.Fatalf("origin asked %d times within negative_ttl, want 1", n)
	}
	h.origin.set("late", testimages.PNG(testimages.Solid(64, 64, green)))
	h.clock.Advance(61 * time.Second)
	h.get("/avatar/web/late?format=png") // stale negative served while it revalidates
	waitFor(t, func() bool { return h.origin.gets.Load() == 2 })
	h.settle()
	r := h.get("/avatar/web/late?format=png&size=10")
	mustShow(h, r, 5, 5, green) // after negative_ttl, the new avatar
}

func TestNewSizeDoesNotRefetchOriginal(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, green)))
	for _, size := range []int{20, 40, 80, 256} {
		h.mustStatus(h.get(fmt.Sprintf("/avatar/web/u?size=%d", size)), 200)
	}
	if n := h.origin.gets.Load(); n != 1 {
		t.Fatalf("four sizes fetched the original %d times, want 1", n)
	}
}

func TestConcurrentMissesCollapse(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, green)))
	release := h.origin.holdNext()
	var wg sync.WaitGroup
	results := make([]*response, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.get("/avatar/web/u?size=30")
		}()
	}
	<-h.origin.arrived
	time.Sleep(100 * time.Millisecond) // let the others queue behind the held fetch
	close(release)
	wg.Wait()
	if n := h.origin.gets.Load(); n != 1 {
		t.Fatalf("20 concurrent misses made %d upstream fetches, want 1", n)
	}
	for i, r := range results {
		if r.StatusCode != 200 || !bytes.Equal(r.body, results[0].body) {
			t.Fatalf("request %d: status %d", i, r.StatusCode)
		}
	}
}

func TestClientGivingUpDoesNotFailOthers(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, green)))
	release := h.origin.holdNext()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", h.http.URL+"/avatar/web/u?size=30", nil)
	impatient := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		impatient <- err
	}()
	<-h.origin.arrived
	patient := make(chan *response, 1)
	go func() { patient <- h.get("/avatar/web/u?size=30") }()
	time.Sleep(50 * time.Millisecond) // let the patient client join the flight
	cancel()
	if err := <-impatient; err == nil {
		t.Fatal("the cancelled request succeeded")
	}
	close(release)
	r := <-patient
	mustShow(h, r, 15, 15, green) // the patient client's
}

func TestStaleIsServedWhileRevalidating(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, green)))
	first := h.get("/avatar/web/u?size=30")
	h.clock.Advance(2 * time.Hour)
	r := h.get("/avatar/web/u?size=30")
	if r.Header.Get("X-Cache") != "STALE" || !bytes.Equal(r.body, first.body) {
		t.Fatalf("after ttl: X-Cache %q", r.Header.Get("X-Cache"))
	}
	waitFor(t, func() bool { return h.origin.conditional.Load() == 1 })
	h.settle()
	waitFor(t, func() bool {
		r = h.get("/avatar/web/u?size=30")
		return r.Header.Get("X-Cache") == "HIT"
	})
	if !bytes.Equal(r.body, first.body) {
		t.Fatal("an unchanged original changed the bytes")
	}

	// A changed original is rendered anew on revalidation.
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, red)))
	h.clock.Advance(2 * time.Hour)
	h.get("/avatar/web/u?size=30")
	waitFor(t, func() bool {
		r = h.get("/avatar/web/u?size=30&format=png")
		return r.StatusCode == 200 && sameColour(pixelAt(t, r.body, 15, 15), red)
	})
}

func TestUpstreamFailureServesLastGoodCopy(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, green)))
	good := h.get("/avatar/web/u?size=30&format=png")
	h.origin.fail("u", 503)
	h.clock.Advance(2 * time.Hour)
	r := h.get("/avatar/web/u?size=30&format=png")
	if r.Header.Get("X-Cache") != "STALE" || !bytes.Equal(r.body, good.body) {
		t.Fatalf("X-Cache %q", r.Header.Get("X-Cache"))
	}
	// A size never rendered before comes from the stale original too.
	waitFor(t, func() bool { return h.origin.gets.Load() >= 2 })
	h.settle()
	r = h.get("/avatar/web/u?size=31&format=png")
	h.mustStatus(r, 200)
	if r.Header.Get("X-Cache") != "STALE" || !sameColour(pixelAt(t, r.body, 15, 15), green) {
		t.Fatalf("new size while failing: X-Cache %q", r.Header.Get("X-Cache"))
	}
}

func TestUpstreamFailureWithoutCopyServesDefault(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.fail("u", 502)
	h.origin.set("html", []byte("<!doctype html><html><body>Sign in</body></html>"))
	for user, reason := range map[string]string{"u": "status-502", "html": "unsupported-image"} {
		r := h.get("/avatar/web/" + user + "?size=30&format=png")
		h.mustStatus(r, 200)
		if got := r.Header.Get("X-Avatar-Fallback"); got != reason {
			t.Errorf("%s: X-Avatar-Fallback %q, want %q", user, got, reason)
		}
		if got := r.Header.Get("Cache-Control"); got != "public, max-age=10" {
			t.Errorf("%s: Cache-Control %q", user, got)
		}
		if info := imageInfo(t, r.body); info.Width != 30 {
			t.Errorf("%s: default is %d wide", user, info.Width)
		}
	}
}

func TestUnknownUpstreamAndRoutes(t *testing.T) {
	h := newHarness(t, nil)
	h.mustStatus(h.get("/avatar/nope/u"), 404)
	h.mustStatus(h.get("/avatar/local"), 404)
	h.mustStatus(h.get("/somewhere/else"), 404)
	h.mustStatus(h.do("POST", "/avatar/local/u", nil), 405)
}

func TestSignedURLs(t *testing.T) {
	key, old := "k-0123456789abcdef", "old-0123456789abcdef"
	h := newHarness(t, func(c *config.Config) {
		c.Security.SigningKey = key
		c.Security.PreviousSigningKeys = []string{old}
	})
	h.writeFile("u.png", testimages.PNG(testimages.Solid(64, 64, green)))
	good := Sign([]byte(key), "local", "u", "")
	h.mustStatus(h.get("/avatar/local/u?size=20&sig="+good), 200)
	h.mustStatus(h.get("/avatar/local/u?size=--SIZE--&sig="+good), 200)
	h.mustStatus(h.get("/avatar/local/u?sig="+Sign([]byte(old), "local", "u", "")), 200)
	h.mustStatus(h.get("/avatar/local/u?v=9&sig="+Sign([]byte(key), "local", "u", "9")), 200)
	for _, q := range []string{"", "sig=", "sig=" + good[:20], "sig=" + Sign([]byte("wrong-key-000000000"), "local", "u", ""),
		"sig=" + Sign([]byte(key), "local", "other", ""), "v=9&sig=" + good} {
		h.mustStatus(h.get("/avatar/local/u?"+q), 403)
	}
}

func TestPurge(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, green)))
	for _, size := range []string{"20", "40"} {
		h.get("/avatar/web/u?format=png&size=" + size)
		h.get("/avatar/web/u?format=webp&size=" + size)
	}
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, red)))

	h.mustStatus(h.do("POST", "/purge/web/u", nil), 401)
	h.mustStatus(h.do("POST", "/purge/web/u", http.Header{"Authorization": {"Bearer wrong"}}), 401)
	auth := http.Header{"Authorization": {"Bearer purge-secret"}}
	h.mustStatus(h.do("POST", "/purge/nope/u", auth), 404)
	h.mustStatus(h.do("POST", "/purge/web/u", auth), 204)
	for _, size := range []string{"20", "40"} {
		for _, f := range []string{"png", "webp"} {
			r := h.get("/avatar/web/u?format=" + f + "&size=" + size)
			if r.Header.Get("X-Cache") != "MISS" {
				t.Errorf("%s %s after purge: X-Cache %q", f, size, r.Header.Get("X-Cache"))
			}
			if f == "png" && !sameColour(pixelAt(t, r.body, 5, 5), red) {
				t.Errorf("size %s after purge still old", size)
			}
		}
	}
}

func TestPurgeWithoutConfiguredTokenIsClosed(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Security.PurgeToken = "" })
	h.mustStatus(h.do("POST", "/purge/web/u", http.Header{"Authorization": {"Bearer "}}), 401)
}

// A fetch in flight when a purge lands must not write the old bytes back.
func TestPurgeDuringInflightFetch(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, green)))
	release := h.origin.holdNext()
	done := make(chan *response, 1)
	go func() { done <- h.get("/avatar/web/u?size=20&format=png") }()
	<-h.origin.arrived // the fetch is now in flight, holding the old avatar

	h.origin.set("u", testimages.PNG(testimages.Solid(64, 64, red)))
	h.mustStatus(h.do("POST", "/purge/web/u", http.Header{"Authorization": {"Bearer purge-secret"}}), 204)
	close(release)
	<-done
	h.settle()

	r := h.get("/avatar/web/u?size=20&format=png")
	if !sameColour(pixelAt(t, r.body, 5, 5), red) {
		t.Fatal("the fetch that was in flight during the purge wrote the old avatar back")
	}
}

func TestOpsEndpoints(t *testing.T) {
	h := newHarness(t, nil)
	h.mustStatus(h.get("/healthz"), 200)
	h.mustStatus(h.get("/readyz"), 200)
	h.writeFile("u.png", testimages.PNG(testimages.Solid(10, 10, blue)))
	h.get("/avatar/local/u")
	h.get("/avatar/local/u")
	h.get("/avatar/local/u?size=x")
	text := metricsText(h)
	for _, want := range []string{
		`avatarproxy_http_requests_total{code="200",handler="avatar"} 2`,
		`avatarproxy_http_requests_total{code="400",handler="avatar"} 1`,
		`avatarproxy_http_request_duration_seconds_bucket{handler="avatar",le="0.0001"}`,
		`avatarproxy_cache_hits_total{tier="variant"} 1`,
		`avatarproxy_cache_misses_total{tier="variant"} 1`,
		`avatarproxy_cache_misses_total{tier="original"} 1`,
		`avatarproxy_cache_size_bytes{tier="variant"}`,
		`avatarproxy_resize_duration_seconds_count{format="jpeg"}`,
		`avatarproxy_inflight_requests 1`,
		`avatarproxy_cache_evictions_total 0`,
		`avatarproxy_resize_running 0`,
		`avatarproxy_resize_queued 0`,
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	h.get("/avatar/web/nobody")
	if text := metricsText(h); !strings.Contains(text, `avatarproxy_upstream_requests_total{code="404",upstream="web"} 1`) ||
		!strings.Contains(text, `avatarproxy_upstream_request_duration_seconds_count{upstream="web"} 1`) {
		t.Error("upstream requests not counted")
	}
	if strings.Contains(metricsText(h), "nobody") {
		t.Error("a user id leaked into a metric label")
	}
	h.srv.Drain()
	h.mustStatus(h.get("/readyz"), 503)
	h.mustStatus(h.get("/healthz"), 200)
}

// Nothing a client sends gets a 500.
func TestNoServerErrorsForHostileRequests(t *testing.T) {
	h := newHarness(t, nil)
	h.writeFile("u.png", testimages.PNG(testimages.Solid(10, 10, blue)))
	paths := []string{
		"/avatar/local/..%2F..%2Fetc%2Fpasswd", "/avatar/local/%00", "/avatar/local/.hidden",
		"/avatar/local/" + strings.Repeat("a", 5000), "/avatar/web/%2e%2e", "/avatar/web/a%2Fb",
		"/avatar/local/u?size=1e9", "/avatar/local/u?size=0x10", "/avatar/local/u?" + strings.Repeat("a=1&", 2000),
		"/avatar/local/u?format=" + strings.Repeat("%FF", 100), "/avatar/local/u?d=%00", "/avatar/local/u?dpr=-1",
		"/proxy.php?proxy=avatar&user_id=1", "/avatar/local/u;size=10", "/avatar//u",
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "HEAD"} {
			r := h.do(m, p, http.Header{"Accept": {strings.Repeat("image/avif;q=", 100)}, "If-None-Match": {strings.Repeat(`"`, 1000)}})
			if r.StatusCode >= 500 {
				t.Errorf("%s %s: %d %q", m, p, r.StatusCode, truncate(r.body))
			}
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// One broken avatar asked for again and again reaches the upstream once per
// retry interval, not once per request.
func TestFailedFetchIsRememberedBriefly(t *testing.T) {
	h := newHarness(t, nil)
	h.origin.fail("broken", 500)
	for range 5 {
		r := h.get("/avatar/web/broken?size=20&format=png")
		if r.Header.Get("X-Avatar-Fallback") != "status-500" {
			t.Fatalf("X-Avatar-Fallback %q", r.Header.Get("X-Avatar-Fallback"))
		}
	}
	if n := h.origin.gets.Load(); n != 1 {
		t.Fatalf("five requests for a broken avatar made %d upstream fetches, want 1", n)
	}
	h.origin.set("broken", testimages.PNG(testimages.Solid(32, 32, green)))
	h.clock.Advance(retryFailed + time.Second)
	r := h.get("/avatar/web/broken?size=20&format=png")
	if r.Header.Get("X-Avatar-Fallback") != "" || !sameColour(pixelAt(t, r.body, 10, 10), green) {
		t.Fatal("the mended avatar was not fetched after the retry interval")
	}
}

// AVIF has a quality of its own: resize.avif_quality moves AVIF's bytes
// and leaves the other formats at resize.quality.
func TestAVIFHasItsOwnQuality(t *testing.T) {
	src := testimages.SeededJPEG("photo", 300, 300)
	sizes := map[int]map[string]int{}
	for _, avifQuality := range []int{20, 90} {
		h := newHarness(t, func(c *config.Config) { c.Resize.AVIFQuality = avifQuality })
		h.writeFile("u.jpg", src)
		sizes[avifQuality] = map[string]int{}
		for _, format := range []string{"avif", "webp", "jpeg"} {
			r := h.get("/avatar/local/u?size=128&format=" + format)
			h.mustStatus(r, 200)
			sizes[avifQuality][format] = len(r.body)
		}
	}
	low, high := sizes[20], sizes[90]
	if low["avif"] >= high["avif"] {
		t.Errorf("AVIF at avif_quality 20 is %d bytes, at 90 %d: the setting is not used", low["avif"], high["avif"])
	}
	for _, format := range []string{"webp", "jpeg"} {
		if low[format] != high[format] {
			t.Errorf("%s changed with avif_quality: %d and %d bytes", format, low[format], high[format])
		}
	}
}
