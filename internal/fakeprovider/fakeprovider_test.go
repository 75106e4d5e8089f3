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

func TestDocSpaceChanges(t *testing.T) {
	ds := fakeprovidertest.NewDocSpace(t, "key")
	ds.AddPerson("u1", "Ada", "Lovelace")
	auth := http.Header{"Authorization": {"key"}, "Accept": {"application/json"}}
	photoAPI := ds.URL() + "/api/2.0/people/u1/photo"

	getPhoto := func() thumbnails {
		t.Helper()
		status, _, body := call(t, "GET", photoAPI, auth, nil)
		var env docSpaceEnvelope
		decodeJSON(t, body, &env)
		var set thumbnails
		decodeJSON(t, env.Response, &set)
		if status != 200 || env.StatusCode != 200 || env.Count != 1 {
			t.Fatalf("GET photo: %d %s", status, body)
		}
		return set
	}
	getFile := func(ref string) (int, []byte) {
		t.Helper()
		status, _, body := call(t, "GET", ds.URL()+ref, auth, nil)
		return status, body
	}

	set := getPhoto()
	if !strings.HasPrefix(set.Original, "/static/images/default_user_photo_size_") || !strings.Contains(set.Small, "default_user_photo_size_32-32") {
		t.Errorf("no photo: %+v, want the default pictures", set)
	}
	if status, body := getFile(set.Max); status != 200 || http.DetectContentType(body) != "image/png" {
		t.Errorf("default picture: %d, want a PNG", status)
	}

	upload := func(img []byte, autosave string) (success bool, data, message string) {
		t.Helper()
		ctype, buf := form(t, map[string][]byte{"File": img}, map[string]string{"Autosave": autosave})
		h := auth.Clone()
		h.Set("Content-Type", ctype)
		status, _, body := call(t, "POST", photoAPI, h, buf)
		var env docSpaceEnvelope
		decodeJSON(t, body, &env)
		var result struct {
			Success bool   `json:"success"`
			Data    string `json:"data"`
			Message string `json:"message"`
		}
		decodeJSON(t, env.Response, &result)
		if status != 200 {
			t.Fatalf("upload: HTTP %d %s, want 200 whatever the outcome", status, body)
		}
		return result.Success, result.Data, result.Message
	}

	first := testimages.SeededJPEG("first", 64, 48)
	ok, data, _ := upload(first, "true")
	set = getPhoto()
	if !ok || data != set.Original || !strings.HasPrefix(set.Original, "/storage/userPhotos/root/u1_orig_64-48.jpeg?hash=") {
		t.Fatalf("upload: success=%v data=%q, photo now %q", ok, data, set.Original)
	}
	if status, body := getFile(set.Original); status != 200 || !bytes.Equal(body, first) {
		t.Errorf("original: %d, equal=%v; want the upload", status, bytes.Equal(body, first))
	}
	if status, body := getFile(set.Retina); status != 200 {
		t.Errorf("retina: %d", status)
	} else if w, h := imageSize(t, body); w != 360 || h != 360 {
		t.Errorf("retina is %dx%d, want 360x360", w, h)
	}

	// A bad file: HTTP 200, success false, nothing changed.
	ok, _, message := upload([]byte("this is not an image"), "true")
	if ok || message == "" {
		t.Errorf("bad file: success=%v message=%q, want false with a message", ok, message)
	}
	if after := getPhoto(); after != set {
		t.Errorf("bad file changed the photo: %+v -> %+v", set, after)
	}
	if photo, _ := ds.Photo("u1"); !bytes.Equal(photo, first) {
		t.Error("bad file changed the stored bytes")
	}

	// Without Autosave the upload is a temporary file; PUT makes it the photo.
	second := testimages.SeededPNG("second", 80, 80)
	ok, tmp, _ := upload(second, "false")
	if !ok || !strings.Contains(tmp, "/storage/userPhotos/temp/") {
		t.Fatalf("temporary upload: success=%v data=%q", ok, tmp)
	}
	if getPhoto() != set {
		t.Error("a temporary upload changed the photo")
	}
	status, _, body := call(t, "PUT", photoAPI, auth, strings.NewReader(`{"files":"`+tmp+`"}`))
	var env docSpaceEnvelope
	decodeJSON(t, body, &env)
	var put thumbnails
	decodeJSON(t, env.Response, &put)
	if status != 200 || put.Original == set.Original || put != getPhoto() {
		t.Errorf("PUT: %d %s, want the new photo set", status, body)
	}
	if _, body := getFile(put.Original); !bytes.Equal(body, second) {
		t.Error("after PUT: the original is not the new image")
	}
	// A photo of the same shape keeps its file name under a new hash, and
	// the old URL serves the new photo: the hash is only a cache-buster.
	third := testimages.SeededPNG("third", 80, 80)
	ds.SetPhoto("u1", third)
	if latest := getPhoto(); latest.Original == put.Original || strings.Split(latest.Original, "?")[0] != strings.Split(put.Original, "?")[0] {
		t.Errorf("same-shape change: %s -> %s, want the same file with a new hash", put.Original, latest.Original)
	}
	if _, body := getFile(put.Original); !bytes.Equal(body, third) {
		t.Error("the old URL does not serve the current photo")
	}

	// Re-crop: new bytes, new hash.
	status, _, body = call(t, "POST", photoAPI+"/thumbnails", auth,
		strings.NewReader(`{"tmpFile":"`+tmp+`","x":10,"y":10,"width":40,"height":40}`))
	decodeJSON(t, body, &env)
	var cropped thumbnails
	decodeJSON(t, env.Response, &cropped)
	if status != 200 || cropped.Original == put.Original {
		t.Errorf("crop: %d %s, want a new original URL", status, body)
	}
	_, body = getFile(cropped.Original)
	if w, h := imageSize(t, body); w != 40 || h != 40 || bytes.Equal(body, second) {
		t.Errorf("cropped photo is %dx%d, want 40x40 and new bytes", w, h)
	}

	// DELETE puts the defaults back and reports them.
	status, _, body = call(t, "DELETE", photoAPI, auth, nil)
	decodeJSON(t, body, &env)
	var deleted thumbnails
	decodeJSON(t, env.Response, &deleted)
	if status != 200 || !strings.Contains(deleted.Original, "default_user_photo_size_") || getPhoto() != deleted {
		t.Errorf("DELETE: %d %s, want the default set", status, body)
	}
	if status, _ := getFile(cropped.Original); status != 404 {
		t.Errorf("deleted photo still served: %d", status)
	}

	status, _, body = call(t, "GET", ds.URL()+"/api/2.0/people/u1", auth, nil)
	decodeJSON(t, body, &env)
	var person struct {
		DisplayName string `json:"displayName"`
		HasAvatar   bool   `json:"hasAvatar"`
	}
	decodeJSON(t, env.Response, &person)
	if status != 200 || person.DisplayName != "Ada Lovelace" || person.HasAvatar {
		t.Errorf("person: %d %s", status, body)
	}

	if status, _, _ := call(t, "GET", photoAPI, http.Header{"Authorization": {"wrong"}}, nil); status != 401 {
		t.Errorf("wrong key: %d, want 401", status)
	}
	if status, _, _ := call(t, "GET", ds.URL()+"/api/2.0/people/nobody/photo", auth, nil); status != 404 {
		t.Errorf("unknown person: %d, want 404", status)
	}
}

func TestActiveCollabChanges(t *testing.T) {
	ac := fakeprovidertest.NewActiveCollab(t, "tok")
	ac.AddUser("5", "Alan", "Turing")
	auth := http.Header{"X-Angie-AuthApiToken": {"tok"}}
	avatar := ac.URL() + "/proxy.php?proxy=avatar&module=system&user_id=5&size=40"

	status, header, initials := call(t, "GET", avatar, nil, nil)
	if status != 200 || header.Get("Content-Type") != "image/png" {
		t.Fatalf("initials avatar: %d %s", status, header.Get("Content-Type"))
	}
	if w, h := imageSize(t, initials); w != 80 || h != 80 {
		t.Errorf("size=40 gave %dx%d, want 80x80", w, h)
	}
	etag := header.Get("Etag")
	if len(etag) != 32 || strings.Contains(etag, `"`) {
		t.Errorf("Etag %q, want an unquoted MD5", etag)
	}
	if status, _, body := call(t, "GET", avatar, http.Header{"If-None-Match": {etag}}, nil); status != 304 || len(body) != 0 {
		t.Errorf("If-None-Match: %d with %d bytes, want 304", status, len(body))
	}

	getUser := func() (avatarURL string, updatedOn int64) {
		t.Helper()
		status, _, body := call(t, "GET", ac.URL()+"/api/v1/users/5", auth, nil)
		var doc struct {
			Single struct {
				ID          int    `json:"id"`
				DisplayName string `json:"display_name"`
				FirstName   string `json:"first_name"`
				LastName    string `json:"last_name"`
				AvatarURL   string `json:"avatar_url"`
				UpdatedOn   int64  `json:"updated_on"`
			} `json:"single"`
		}
		decodeJSON(t, body, &doc)
		u := doc.Single
		if status != 200 || u.ID != 5 || u.DisplayName != "Alan Turing" || u.FirstName != "Alan" || u.LastName != "Turing" || !strings.Contains(u.AvatarURL, "size=--SIZE--") {
			t.Fatalf("user: %d %s", status, body)
		}
		return u.AvatarURL, u.UpdatedOn
	}
	urlBefore, updatedBefore := getUser()

	ctype, buf := form(t, map[string][]byte{"file": testimages.SeededJPEG("alan", 200, 200)}, nil)
	status, _, body := call(t, "POST", ac.URL()+"/api/v1/upload-files", http.Header{"X-Angie-AuthApiToken": {"tok"}, "Content-Type": {ctype}}, buf)
	var uploaded []struct {
		Code     string `json:"code"`
		Name     string `json:"name"`
		MimeType string `json:"mime_type"`
		Size     int    `json:"size"`
	}
	decodeJSON(t, body, &uploaded)
	if status != 200 || len(uploaded) != 1 || uploaded[0].Code == "" || uploaded[0].MimeType != "image/jpeg" {
		t.Fatalf("upload-files: %d %s", status, body)
	}

	status, _, body = call(t, "PUT", ac.URL()+"/api/v1/users/5", auth, strings.NewReader(`{"uploaded_avatar_code":"`+uploaded[0].Code+`"}`))
	if status != 200 || !strings.Contains(string(body), `"single"`) {
		t.Fatalf("PUT user: %d %s", status, body)
	}
	urlAfter, updatedAfter := getUser()
	if updatedAfter <= updatedBefore || urlAfter == urlBefore {
		t.Errorf("updated_on %d -> %d, avatar_url %q -> %q: want both to move", updatedBefore, updatedAfter, urlBefore, urlAfter)
	}
	status, header, uploadedAvatar := call(t, "GET", avatar, nil, nil)
	if status != 200 || bytes.Equal(uploadedAvatar, initials) || header.Get("Etag") == etag {
		t.Errorf("after upload: %d, want new bytes and a new Etag", status)
	}
	if w, _ := imageSize(t, uploadedAvatar); w != 80 {
		t.Errorf("uploaded avatar at size=40 is %d wide, want 80", w)
	}

	// A code is used once; an unknown one is a validation error.
	if status, _, _ := call(t, "PUT", ac.URL()+"/api/v1/users/5", auth, strings.NewReader(`{"uploaded_avatar_code":"`+uploaded[0].Code+`"}`)); status != 400 {
		t.Errorf("reused code: %d, want 400", status)
	}

	status, _, _ = call(t, "DELETE", ac.URL()+"/api/v1/users/5/clear-avatar", auth, nil)
	if status != 200 {
		t.Errorf("clear-avatar: %d", status)
	}
	if _, _, body := call(t, "GET", avatar, nil, nil); !bytes.Equal(body, initials) {
		t.Error("after clear-avatar: not the initials again")
	}
	if _, ok := ac.Avatar("5"); ok {
		t.Error("after clear-avatar: an avatar is still stored")
	}

	if status, _, _ := call(t, "GET", ac.URL()+"/api/v1/users/5", nil, nil); status != 401 {
		t.Errorf("no token: %d, want 401", status)
	}
	if status, _, _ := call(t, "GET", ac.URL()+"/proxy.php?proxy=avatar&module=system&user_id=404&size=40", nil, nil); status != 404 {
		t.Errorf("unknown user: %d, want 404", status)
	}
	if status, _, _ := call(t, "GET", ac.URL()+"/proxy.php?proxy=avatar&module=system&user_id=5&size=33", nil, nil); status != 400 {
		t.Errorf("size=33: %d, want 400", status)
	}
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
