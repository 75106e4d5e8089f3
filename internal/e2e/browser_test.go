package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
	"github.com/avatarproxy/avatarproxy/resize"
)

// The sample users, each shown at 40 CSS pixels with a 1x and a 2x
// candidate, as an application's markup would.
var pageUsers = []string{"alice", "bob", "dave", "erin", "frank"}

func avatarPage(proxyURL string) string {
	var b strings.Builder
	b.WriteString("<!doctype html><html><body>\n")
	for _, u := range pageUsers {
		fmt.Fprintf(&b, `<img id=%q width="40" height="40" alt="" src="%[2]s/avatar/local/%[1]s?size=40" srcset="%[2]s/avatar/local/%[1]s?size=40 1x, %[2]s/avatar/local/%[1]s?size=40&dpr=2 2x">`+"\n", u, proxyURL)
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// loadedImage is what the page reports of one image: its natural width in
// CSS pixels and the candidate the browser chose.
type loadedImage struct {
	ID         string `json:"id"`
	Natural    int    `json:"natural"`
	CurrentSrc string `json:"src"`
}

// chromiumImageAccept is the Accept header Chromium sends for images.
const chromiumImageAccept = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"

const imagesLoaded = `Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)`
const describeImages = `Array.from(document.images).map(i => ({id: i.id, natural: i.naturalWidth, src: i.currentSrc}))`

func browser(t *testing.T) context.Context {
	t.Helper()
	bin := testproc.Need(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	}
	ctx, cancelAlloc := context.WithTimeout(context.Background(), 2*testproc.MustNotHang)
	ctx, cancelExec := chromedp.NewExecAllocator(ctx, opts...)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(func() { cancelBrowser(); cancelExec(); cancelAlloc() })
	return ctx
}

// proxyCount reads one series of avatarproxy_http_requests_total.
func proxyCount(t *testing.T, proxyURL, handler, code string) int {
	t.Helper()
	return metricValue(t, proxyURL, fmt.Sprintf(`avatarproxy_http_requests_total{code="%s",handler="%s"}`, code, handler))
}

func metricValue(t *testing.T, proxyURL, series string) int {
	t.Helper()
	r := do(t, http.MethodGet, proxyURL+"/metrics", nil, nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+]+)$`).FindSubmatch(r.body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return int(v)
}

func TestChromiumLoadsTheDenseCandidateInANegotiatedFormatAndRevalidates(t *testing.T) {
	proxyAddr := testproc.FreeAddr(t)
	proxyURL := "http://" + proxyAddr
	root := filepath.Join(testproc.RepoRoot(t), "examples", "avatars")
	// A one-second browser TTL, so that the reload finds every image
	// expired and must ask the proxy whether it changed.
	testproc.Proxy(t, t.TempDir(), proxyAddr, fmt.Sprintf(`
listen: %q
upstreams:
  - {name: local, kind: file, root: %q}
cache: {browser_ttl: 1s}
`, proxyAddr, root))
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, avatarPage(proxyURL))
	}))
	t.Cleanup(page.Close)

	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(800, 600, chromedp.EmulateScale(2)),
		chromedp.Navigate(page.URL),
		chromedp.Poll[chromedp.Void](imagesLoaded, chromedp.WithPollingTimeout(testproc.MustNotHang)),
	)
	if err != nil {
		t.Fatal(err)
	}
	images, err := chromedp.Run(ctx, chromedp.Evaluate[[]loadedImage](describeImages))
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != len(pageUsers) {
		t.Fatalf("the page shows %d images, want %d", len(images), len(pageUsers))
	}
	// Chromium's own Accept names AVIF, so every image was made as AVIF.
	avif := metricValue(t, proxyURL, `avatarproxy_resize_duration_seconds_count{format="avif"}`)
	if avif != len(pageUsers) {
		t.Errorf("the proxy made %d AVIF images for Chromium, want %d", avif, len(pageUsers))
	}
	if got := proxyCount(t, proxyURL, "avatar", "200"); got != len(pageUsers) {
		t.Errorf("first load: %d avatar 200s, want %d (one per image)", got, len(pageUsers))
	}

	for _, img := range images {
		if !strings.HasSuffix(img.CurrentSrc, "&dpr=2") {
			t.Errorf("%s: the browser chose %s, not the 2x candidate", img.ID, img.CurrentSrc)
		}
		// The browser divides the candidate's pixels by its density: 80
		// pixels shown crisp in 40 CSS pixels.
		if img.Natural != 40 {
			t.Errorf("%s: natural width %d CSS pixels, want 40", img.ID, img.Natural)
		}
		r := do(t, http.MethodGet, img.CurrentSrc, http.Header{"Accept": {chromiumImageAccept}}, nil)
		info, err := resize.Inspect(r.body)
		if err != nil || info.Width != 80 || info.Height != 80 || info.Format != resize.AVIF {
			t.Errorf("%s: %s is %+v (%v), want an 80x80 AVIF", img.ID, img.CurrentSrc, info, err)
		}
	}
	okBefore := proxyCount(t, proxyURL, "avatar", "200") // the checks above count too

	time.Sleep(1500 * time.Millisecond) // past the one-second browser TTL
	err = chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.Poll[chromedp.Void](imagesLoaded, chromedp.WithPollingTimeout(testproc.MustNotHang)),
	)
	if err != nil {
		t.Fatal(err)
	}
	// stale-while-revalidate lets Chromium revalidate in the background:
	// wait for those requests to reach the proxy.
	deadline := time.Now().Add(testproc.MustNotHang)
	for proxyCount(t, proxyURL, "avatar", "304") < len(pageUsers) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := proxyCount(t, proxyURL, "avatar", "304"); got != len(pageUsers) {
		t.Errorf("reload: %d avatar 304s, want %d (one revalidation per image)", got, len(pageUsers))
	}
	if got := proxyCount(t, proxyURL, "avatar", "200"); got != okBefore {
		t.Errorf("reload refetched: avatar 200s went from %d to %d", okBefore, got)
	}
}
