package hostile

import (
	"bytes"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func get(t *testing.T, srv *httptest.Server, id string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/a/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// Good users get a real image of their variant's size, and a 304 for its
// ETag.
func TestGoodImages(t *testing.T) {
	srv := httptest.NewServer(New())
	defer srv.Close()
	for id, want := range map[string]image.Point{"jpeg-1": {48, 48}, "png-3": {256, 170}, "png": {16, 16}} {
		resp, body := get(t, srv, id, nil)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(body))
		if resp.StatusCode != http.StatusOK || err != nil || (image.Point{cfg.Width, cfg.Height}) != want {
			t.Errorf("%s: status %d, %dx%d (%v), want 200 with %v", id, resp.StatusCode, cfg.Width, cfg.Height, err, want)
			continue
		}
		again, _ := get(t, srv, id, http.Header{"If-None-Match": {resp.Header.Get("ETag")}})
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("%s: status %d for its ETag, want 304", id, again.StatusCode)
		}
	}
}

// Every bad answer claims to be an image and carries the cookie, and none
// decodes as one.
func TestBadAnswers(t *testing.T) {
	srv := httptest.NewServer(New())
	defer srv.Close()
	for _, kind := range []string{HTML, SVG, Text, Empty, Truncated, Corrupt, Random} {
		resp, body := get(t, srv, kind, nil)
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || len(ct) < 6 || ct[:6] != "image/" {
			t.Errorf("%s: status %d, Content-Type %q, want 200 claiming an image", kind, resp.StatusCode, ct)
		}
		if resp.Header.Get("Set-Cookie") != Cookie {
			t.Errorf("%s: no cookie", kind)
		}
		if _, _, err := image.Decode(bytes.NewReader(body)); err == nil {
			t.Errorf("%s: decodes as an image", kind)
		}
	}
	if resp, _ := get(t, srv, Status503, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s: status %d", Status503, resp.StatusCode)
	}
	if resp, _ := get(t, srv, "nosuch-1", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown kind: status %d, want 404", resp.StatusCode)
	}
}
