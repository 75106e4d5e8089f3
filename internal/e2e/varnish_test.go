package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// varnish starts Debian's varnishd on addr with the shipped VCL, its
// backend pointed at the proxy.
func varnish(t *testing.T, addr, proxyAddr string) {
	t.Helper()
	bin := testproc.Need(t, "varnishd")
	vcl, err := os.ReadFile(filepath.Join(testproc.RepoRoot(t), "deploy", "varnish", "avatarproxy.vcl"))
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(proxyAddr)
	text := strings.Replace(string(vcl), `.host = "127.0.0.1";`, fmt.Sprintf(".host = %q;", host), 1)
	text = strings.Replace(text, `.port = "8080";`, fmt.Sprintf(".port = %q;", port), 1)
	if text == string(vcl) {
		t.Fatal("the shipped VCL no longer has the backend lines this test points at the proxy")
	}
	dir := t.TempDir()
	vclPath := filepath.Join(dir, "avatarproxy.vcl")
	if err := os.WriteFile(vclPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testproc.Start(t, exec.Command(bin, "-F", "-j", "none", "-a", addr, "-f", vclPath,
		"-n", filepath.Join(dir, "work"), "-s", "malloc,64m", "-T", "none"))
	p.WaitTCP(addr)
}

type fetched struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, header http.Header, body []byte) fetched {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fetched{resp.StatusCode, resp.Header, b}
}

// avatarSizes are asked for through Varnish before and after each change.
var avatarSizes = []string{"size=40&format=png", "size=80&format=jpeg"}

// cachedInVarnish asks Varnish for both sizes until it serves each from its
// cache, and returns their bytes.
func cachedInVarnish(t *testing.T, varnishAddr, path string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	for _, q := range avatarSizes {
		url := "http://" + varnishAddr + path + "?" + q
		first := do(t, http.MethodGet, url, nil, nil)
		if first.status != http.StatusOK {
			t.Fatalf("GET %s through Varnish: %d %s", url, first.status, first.body)
		}
		second := do(t, http.MethodGet, url, nil, nil)
		if second.header.Get("X-Varnish-Cache") != "HIT" || !bytes.Equal(first.body, second.body) {
			t.Fatalf("Varnish did not cache %s (X-Varnish-Cache %q)", url, second.header.Get("X-Varnish-Cache"))
		}
		got[q] = second.body
	}
	return got
}

// mustRefresh waits until Varnish serves, for every size, bytes other than
// before: the proxy's purge request reached it and it asked the proxy anew.
func mustRefresh(t *testing.T, varnishAddr, path string, before map[string][]byte, what string) {
	t.Helper()
	for _, q := range avatarSizes {
		url := "http://" + varnishAddr + path + "?" + q
		deadline := time.Now().Add(testproc.MustNotHang)
		for {
			r := do(t, http.MethodGet, url, nil, nil)
			if r.status == http.StatusOK && !bytes.Equal(r.body, before[q]) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Varnish still serves the old %s", what, q)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestVarnishDropsAUsersAvatarsWhenTheProxyPurges(t *testing.T) {
	const (
		boxToken    = "box-service-token"
		dsKey       = "docspace-key"
		dsSecret    = "docspace-webhook-secret"
		purgeToken  = "purge-token-for-tests"
		dsUser      = "6f1e2d3c-0000-4000-8000-000000000001"
		boxUser     = "alice"
		boxReplaced = "bob"
	)
	box := fakeprovidertest.NewBox(t, boxToken)
	box.SetAvatar(boxUser, testimages.SeededJPEG("alice-1", 300, 300))
	box.SetAvatar(boxReplaced, testimages.SeededJPEG("bob-1", 300, 300))
	ds := fakeprovidertest.NewDocSpace(t, dsKey)
	ds.AddPerson(dsUser, "Dora", "Space")
	ds.SetPhoto(dsUser, testimages.SeededJPEG("dora-1", 300, 300))

	proxyAddr := testproc.FreeAddr(t)
	// The purge request goes to Varnish, which is started after the proxy
	// on an address chosen now.
	varnishAddr := testproc.FreeAddr(t)
	testproc.Proxy(t, t.TempDir(), proxyAddr, fmt.Sprintf(`
listen: %q
upstreams:
  - {name: box, kind: box, base_url: %q, token: %q, passthrough_prefix: /box}
  - {name: ds, kind: docspace, base_url: %q, api_key: %q, webhook_secret: %q}
security: {purge_token: %q}
http:
  purge_requests:
    - {method: PURGE, url: "http://%s/", headers: {xkey-purge: "{tag}"}}
`, proxyAddr, box.BaseURL(), boxToken, ds.URL(), dsKey, dsSecret, purgeToken, varnishAddr))
	varnish(t, varnishAddr, proxyAddr)

	// invalidates caches path's avatars in Varnish, has invalidate send
	// what should purge them, answered 204, and waits for Varnish to serve
	// new ones.
	invalidates := func(t *testing.T, path, what string, invalidate func() fetched) {
		t.Helper()
		before := cachedInVarnish(t, varnishAddr, path)
		if r := invalidate(); r.status != http.StatusNoContent {
			t.Fatalf("%s: %d %s", what, r.status, r.body)
		}
		mustRefresh(t, varnishAddr, path, before, "after "+what)
	}

	t.Run("pass-through delete", func(t *testing.T) {
		invalidates(t, "/avatar/box/"+boxUser, "DELETE through Varnish and the pass-through", func() fetched {
			return do(t, http.MethodDelete, "http://"+varnishAddr+"/box/users/"+boxUser+"/avatar",
				http.Header{"Authorization": {"Bearer " + boxToken}}, nil)
		})
	})

	t.Run("purge API", func(t *testing.T) {
		invalidates(t, "/avatar/box/"+boxReplaced, "POST /purge", func() fetched {
			box.SetAvatar(boxReplaced, testimages.SeededJPEG("bob-2", 300, 300))
			return do(t, http.MethodPost, "http://"+proxyAddr+"/purge/box/"+boxReplaced,
				http.Header{"Authorization": {"Bearer " + purgeToken}}, nil)
		})
	})

	t.Run("webhook", func(t *testing.T) {
		invalidates(t, "/avatar/ds/"+dsUser, "POST /webhooks/ds", func() fetched {
			ds.SetPhoto(dsUser, testimages.SeededJPEG("dora-2", 300, 300))
			body := []byte(fmt.Sprintf(`{"event":{"id":7,"createOn":%q,"trigger":"user.updated"},"payload":{"id":%q},"webhook":{"id":1}}`,
				time.Now().UTC().Format(time.RFC3339Nano), dsUser))
			mac := hmac.New(sha256.New, []byte(dsSecret))
			mac.Write(body)
			return do(t, http.MethodPost, "http://"+proxyAddr+"/webhooks/ds",
				http.Header{"Content-Type": {"application/json"}, "X-Docspace-Signature-256": {"sha256=" + strings.ToUpper(hex.EncodeToString(mac.Sum(nil)))}}, body)
		})
	})
}
