package fakeprovider_test

import (
	"bytes"
	"encoding/json"
	"image"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// call sends one request and returns the status, headers and body.
func call(t *testing.T, method, url string, header http.Header, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// form builds a multipart body of files and plain fields.
func form(t *testing.T, files map[string][]byte, fields map[string]string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for name, data := range files {
		part, err := w.CreateFormFile(name, name+".bin")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = part.Write(data)
	}
	for name, value := range fields {
		if err := w.WriteField(name, value); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), &buf
}

func decodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

func imageSize(t *testing.T, b []byte) (int, int) {
	t.Helper()
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an image: %v", err)
	}
	return cfg.Width, cfg.Height
}

func TestImages(t *testing.T) {
	a, b := testimages.SeededJPEG("a", 30, 20), testimages.SeededJPEG("b", 30, 20)
	if bytes.Equal(a, b) {
		t.Error("different seeds gave the same JPEG")
	}
	if !bytes.Equal(a, testimages.SeededJPEG("a", 30, 20)) {
		t.Error("the same seed gave different JPEGs")
	}
	if w, h := imageSize(t, a); w != 30 || h != 20 {
		t.Errorf("JPEG is %dx%d, want 30x20", w, h)
	}
	p := testimages.SeededPNG("a", 7, 9)
	if w, h := imageSize(t, p); w != 7 || h != 9 || http.DetectContentType(p) != "image/png" {
		t.Errorf("PNG is %dx%d %s, want a 7x9 PNG", w, h, http.DetectContentType(p))
	}
}

func TestBoxChanges(t *testing.T) {
	box := fakeprovidertest.NewBox(t, "service", "client")
	avatar := box.BaseURL() + "/users/42/avatar"
	auth := http.Header{"Authorization": {"Bearer client"}}

	status, header, body := call(t, "GET", avatar, auth, nil)
	var boxErr struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	decodeJSON(t, body, &boxErr)
	if status != 404 || boxErr.Type != "error" || boxErr.Status != 404 || boxErr.Code != "not_found" {
		t.Errorf("no avatar: %d %s, want Box's 404 not_found", status, body)
	}
	if !strings.Contains(header.Get("Set-Cookie"), fakeprovider.BoxCookie) {
		t.Errorf("Set-Cookie = %q, want the %s cookie", header.Get("Set-Cookie"), fakeprovider.BoxCookie)
	}

	upload := func(img []byte) (int, []byte) {
		ctype, buf := form(t, map[string][]byte{"pic": img}, nil)
		h := auth.Clone()
		h.Set("Content-Type", ctype)
		status, _, body := call(t, "POST", avatar, h, buf)
		return status, body
	}
	first := testimages.SeededJPEG("first", 40, 40)
	status, body = upload(first)
	var created struct {
		PicURLs map[string]string `json:"pic_urls"`
	}
	decodeJSON(t, body, &created)
	if status != 201 || created.PicURLs["small"] == "" || created.PicURLs["large"] == "" || created.PicURLs["preview"] == "" {
		t.Errorf("create: %d %s, want 201 with pic_urls", status, body)
	}
	status, header, body = call(t, "GET", avatar, auth, nil)
	if status != 200 || !bytes.Equal(body, first) || header.Get("Content-Type") != "image/jpg" {
		t.Errorf("after create: %d %s, equal=%v; want the upload as image/jpg", status, header.Get("Content-Type"), bytes.Equal(body, first))
	}

	second := testimages.SeededPNG("second", 40, 40)
	if status, body = upload(second); status != 200 {
		t.Errorf("replace: %d %s, want 200", status, body)
	}
	if _, _, body = call(t, "GET", avatar, auth, nil); !bytes.Equal(body, second) {
		t.Error("after replace: not the new bytes")
	}

	// Refused uploads change nothing.
	for name, img := range map[string][]byte{
		"not an image": []byte("GIF89a not really"),
		"over 1 MB":    append(testimages.SeededPNG("x", 8, 8), make([]byte, 1<<20)...),
	} {
		if status, body = upload(img); status != 400 {
			t.Errorf("%s: %d %s, want 400", name, status, body)
		}
	}
	if got, _ := box.Avatar("42"); !bytes.Equal(got, second) {
		t.Error("a refused upload changed the avatar")
	}

	if status, _, _ = call(t, "DELETE", avatar, auth, nil); status != 204 {
		t.Errorf("delete: %d, want 204", status)
	}
	if status, _, _ = call(t, "GET", avatar, auth, nil); status != 404 {
		t.Errorf("after delete: %d, want 404", status)
	}

	for _, h := range []http.Header{nil, {"Authorization": {"Bearer stolen"}}, {"Authorization": {"client"}}} {
		if status, _, _ = call(t, "GET", avatar, h, nil); status != 401 {
			t.Errorf("auth %v: %d, want 401", h, status)
		}
	}

	reqs := box.Requests()
	if reqs[0].Credential != "client" || reqs[0].Route != fakeprovider.BoxGetAvatar || reqs[0].UserID != "42" {
		t.Errorf("first request recorded as %+v", reqs[0])
	}
	if n := box.Count(fakeprovider.BoxUploadAvatar); n != 4 {
		t.Errorf("%d uploads counted, want 4", n)
	}
	if n := box.Counts()[fakeprovider.BoxDeleteAvatar]; n != 1 {
		t.Errorf("%d deletes counted, want 1", n)
	}
}

// docSpaceEnvelope is the part of DocSpace's envelope the tests read.
type docSpaceEnvelope struct {
	Response   json.RawMessage `json:"response"`
	Status     int             `json:"status"`
	StatusCode int             `json:"statusCode"`
	Count      int             `json:"count"`
}

type thumbnails struct {
	Original, Retina, Max, Big, Medium, Small string
}

func TestGravatarFake(t *testing.T) {
	g := fakeprovidertest.NewGravatar(t)
	hash := fakeprovider.GravatarHash("a@example.com")
	g.SetAvatar(hash, testimages.SeededPNG("a", 200, 200))

	status, _, body := call(t, "GET", g.URL()+"/avatar/"+hash+"?s=40&d=404", nil, nil)
	if w, h := imageSize(t, body); status != 200 || w != 40 || h != 40 {
		t.Errorf("s=40: %d %dx%d", status, w, h)
	}
	other := fakeprovider.GravatarHash("b@example.com")
	if status, _, _ := call(t, "GET", g.URL()+"/avatar/"+other+"?d=404", nil, nil); status != 404 {
		t.Errorf("no avatar with d=404: %d", status)
	}
	if status, _, _ := call(t, "GET", g.URL()+"/avatar/"+other, nil, nil); status != 200 {
		t.Errorf("no avatar without d: %d, want the default picture", status)
	}
	g.SetAvatar(other, []byte("not an image"))
	if _, _, body := call(t, "GET", g.URL()+"/avatar/"+other+"?s=40", nil, nil); string(body) != "not an image" {
		t.Errorf("broken avatar served as %q, want the bytes as stored", body)
	}
	g.RemoveAvatar(hash)
	if status, _, _ := call(t, "GET", g.URL()+"/avatar/"+hash+"?d=404", nil, nil); status != 404 {
		t.Errorf("removed avatar: %d, want 404", status)
	}
}

func TestHold(t *testing.T) {
	box := fakeprovidertest.NewBox(t)
	old, newer := testimages.SeededJPEG("old", 16, 16), testimages.SeededJPEG("new", 16, 16)
	box.SetAvatar("1", old)
	avatar := box.BaseURL() + "/users/1/avatar"
	auth := http.Header{"Authorization": {"Bearer any"}}

	gate := box.Hold(fakeprovider.BoxGetAvatar)
	got := make(chan []byte, 1)
	go func() {
		req, _ := http.NewRequest("GET", avatar, nil)
		req.Header = auth
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- nil
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		got <- body
	}()
	select {
	case <-gate.Arrived():
	case <-time.After(10 * time.Second):
		t.Fatal("the held request never arrived")
	}
	box.SetAvatar("1", newer)
	select {
	case <-got:
		t.Fatal("the held request was answered before Release")
	default:
	}
	// Other routes, and the next request of this one, are not held.
	if _, _, body := call(t, "GET", avatar, auth, nil); !bytes.Equal(body, newer) {
		t.Error("a later request did not see the new avatar")
	}
	gate.Release()
	select {
	case body := <-got:
		if !bytes.Equal(body, old) {
			t.Error("the held request did not answer the avatar as it was when it arrived")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held request was not answered after Release")
	}
	if n := box.Count(fakeprovider.BoxGetAvatar); n != 2 {
		t.Errorf("%d avatar GETs counted, want 2", n)
	}
}

func TestHoldReleasedOnClose(t *testing.T) {
	ac := fakeprovidertest.NewActiveCollab(t, "tok")
	ac.AddUser("1", "A", "B")
	gate := ac.Hold(fakeprovider.ActiveCollabAvatar)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(ac.URL() + "/proxy.php?proxy=avatar&module=system&user_id=1&size=20")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-gate.Arrived()
	ac.Close() // must not wait for a Release that never comes
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close left the held request hanging")
	}
}
