package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// The flows of each provider's own API, driven through the pass-through
// face as their clients would, with the avatar face checked after each.

// variants are the sizes and formats checked after every change.
var variants = []string{"size=20&format=png", "size=80&format=png", "size=40&format=webp", "size=40&format=jpeg"}

type snapshot map[string][]byte

func (h *harness) snapshot(upstream, user string) snapshot {
	h.t.Helper()
	s := snapshot{}
	for _, q := range variants {
		r := h.get("/avatar/" + upstream + "/" + user + "?" + q)
		h.mustStatus(r, 200)
		if c := r.Header.Get("Set-Cookie"); c != "" {
			h.t.Fatalf("the avatar face passed on an upstream cookie: %s", c)
		}
		s[q] = r.body
	}
	return s
}

// mustDiffer fails when any size or format still serves the old bytes.
func (h *harness) mustDiffer(before, after snapshot, what string) {
	h.t.Helper()
	for q, old := range before {
		if bytes.Equal(old, after[q]) {
			h.t.Errorf("%s: %s still serves the old bytes", what, q)
		}
	}
}

func (h *harness) mustEqual(before, after snapshot, what string) {
	h.t.Helper()
	for q, old := range before {
		if !bytes.Equal(old, after[q]) {
			h.t.Errorf("%s: %s changed", what, q)
		}
	}
}

func multipartBody(t *testing.T, fields map[string]string, fileField, fileName string, file []byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile(fileField, fileName)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	return &b, mw.FormDataContentType()
}

func TestBoxFlow(t *testing.T) {
	box := fakeprovidertest.NewBox(t, "service-token", "client-token")
	h := harnessWith(t, config.Upstream{
		Name: "box", Kind: "box", BaseURL: box.BaseURL(), Token: "service-token", PassthroughPrefix: "/box",
	})
	client := http.Header{"Authorization": {"Bearer client-token"}}
	upload := func(user string, img []byte) *response {
		body, ct := multipartBody(t, nil, "pic", "me.jpg", img)
		hdr := client.Clone()
		hdr.Set("Content-Type", ct)
		return h.send("POST", "/box/users/"+user+"/avatar", hdr, body)
	}

	// Get.
	box.SetAvatar("7", testimages.SeededJPEG("first", 200, 200))
	first := h.snapshot("box", "7")
	h.mustEqual(first, h.snapshot("box", "7"), "unchanged")

	// Replace: 200 with pic_urls, and every size and format changes.
	r := upload("7", testimages.SeededJPEG("second", 200, 200))
	h.mustStatus(r, 200)
	if !strings.Contains(string(r.body), "pic_urls") || r.Header.Get("Set-Cookie") == "" {
		t.Errorf("pass-through did not relay Box's answer faithfully: %q, cookie %q", r.body, r.Header.Get("Set-Cookie"))
	}
	second := h.snapshot("box", "7")
	h.mustDiffer(first, second, "after replace")

	// Create for a user who had none: the default gives way to the upload.
	none := h.snapshot("box", "8")
	h.mustStatus(upload("8", testimages.SeededPNG("created", 120, 120)), 201)
	created := h.snapshot("box", "8")
	h.mustDiffer(none, created, "after create")

	// Delete: back to the default, at every size and format.
	h.mustStatus(h.send("DELETE", "/box/users/7/avatar", client, nil), 204)
	deleted := h.snapshot("box", "7")
	h.mustDiffer(second, deleted, "after delete")
	if r := h.get("/avatar/box/7?d=404"); r.StatusCode != 404 {
		t.Errorf("deleted avatar with d=404: %d", r.StatusCode)
	}

	// A refused upload changes nothing and purges nothing.
	h.mustStatus(upload("8", []byte("not an image")), 400)
	h.mustEqual(created, h.snapshot("box", "8"), "after a refused upload")

	// Credentials: the client's own on pass-through, the service's on fetches.
	for _, req := range box.Requests() {
		want := "service-token"
		if req.Method != "GET" {
			want = "client-token"
		}
		if req.Credential != want {
			t.Errorf("%s %s carried %q, want %q", req.Method, req.URI, req.Credential, want)
		}
	}
	if !strings.Contains(metricsText(h), `avatarproxy_invalidations_total{source="passthrough",upstream="box"} 3`) {
		t.Error("pass-through invalidations not counted as 3")
	}
}

func TestDocSpaceFlow(t *testing.T) {
	ds := fakeprovidertest.NewDocSpace(t, "ds-key")
	h := harnessWith(t, config.Upstream{
		Name: "ds", Kind: "docspace", BaseURL: ds.URL(), APIKey: "ds-key", PassthroughPrefix: "/ds",
	})
	auth := http.Header{"Authorization": {"ds-key"}}
	jsonHeader := http.Header{"Authorization": {"ds-key"}, "Content-Type": {"application/json"}}
	upload := func(img []byte, autosave string) *response {
		body, ct := multipartBody(t, map[string]string{"Autosave": autosave}, "File", "photo.jpg", img)
		hdr := auth.Clone()
		hdr.Set("Content-Type", ct)
		return h.send("POST", "/ds/api/2.0/people/u1/photo", hdr, body)
	}
	ds.AddPerson("u1", "Ada", "Lovelace")

	// No photo: the default.
	none := h.snapshot("ds", "u1")
	if r := h.get("/avatar/ds/u1?d=404"); r.StatusCode != 404 {
		t.Fatalf("DocSpace default photo served as an avatar: %d", r.StatusCode)
	}

	// Upload with autosave.
	h.mustStatus(upload(testimages.SeededJPEG("one", 300, 300), "true"), 200)
	uploaded := h.snapshot("ds", "u1")
	h.mustDiffer(none, uploaded, "after upload")

	// A failed upload answers 200 with success:false: nothing changes, no purge.
	before := h.get("/avatar/ds/u1?" + variants[0])
	r := upload([]byte("garbage"), "true")
	h.mustStatus(r, 200)
	if !strings.Contains(string(r.body), `"success":false`) {
		t.Fatalf("expected DocSpace's refusal, got %s", r.body)
	}
	if after := h.get("/avatar/ds/u1?" + variants[0]); after.Header.Get("X-Cache") != "HIT" || !bytes.Equal(after.body, before.body) {
		t.Error("a refused DocSpace upload purged the user")
	}

	// Update from a temporary upload.
	r = upload(testimages.SeededJPEG("two", 300, 300), "false")
	var tmp struct {
		Response struct {
			Data string `json:"data"`
		} `json:"response"`
	}
	if err := json.Unmarshal(r.body, &tmp); err != nil || tmp.Response.Data == "" {
		t.Fatalf("temporary upload: %s", r.body)
	}
	h.mustStatus(h.send("PUT", "/ds/api/2.0/people/u1/photo", jsonHeader,
		strings.NewReader(fmt.Sprintf(`{"files": %q}`, tmp.Response.Data))), 200)
	updated := h.snapshot("ds", "u1")
	h.mustDiffer(uploaded, updated, "after update")

	// Re-crop.
	h.mustStatus(h.send("POST", "/ds/api/2.0/people/u1/photo/thumbnails", jsonHeader,
		strings.NewReader(`{"tmpFile": "", "x": 10, "y": 10, "width": 150, "height": 150}`)), 200)
	cropped := h.snapshot("ds", "u1")
	h.mustDiffer(updated, cropped, "after re-crop")

	// Delete: back to the default.
	h.mustStatus(h.send("DELETE", "/ds/api/2.0/people/u1/photo", auth, nil), 200)
	h.mustDiffer(cropped, h.snapshot("ds", "u1"), "after delete")
	if r := h.get("/avatar/ds/u1?d=404"); r.StatusCode != 404 {
		t.Errorf("deleted DocSpace photo with d=404: %d", r.StatusCode)
	}

	// Initials come from DocSpace's user record.
	r = h.get("/avatar/ds/u1?d=initials&format=png&size=64")
	identicon := h.get("/avatar/ds/u1?d=identicon&format=png&size=64")
	if bytes.Equal(r.body, identicon.body) {
		t.Error("d=initials drew no initials from DocSpace's displayName")
	}
}

func TestActiveCollabFlow(t *testing.T) {
	ac := fakeprovidertest.NewActiveCollab(t, "ac-token")
	h := harnessWith(t, config.Upstream{
		Name: "ac", Kind: "activecollab", BaseURL: ac.URL(), Token: "ac-token", PassthroughPrefix: "/ac",
	})
	auth := http.Header{"X-Angie-AuthApiToken": {"ac-token"}, "Content-Type": {"application/json"}}
	ac.AddUser("5", "Grace", "Hopper")

	// The default: ActiveCollab renders initials, which the proxy serves.
	initials := h.snapshot("ac", "5")
	if r := h.get("/avatar/ac/5?d=404"); r.StatusCode != 200 {
		t.Fatalf("ActiveCollab always has an avatar, got %d", r.StatusCode)
	}

	// Upload, then set.
	body, ct := multipartBody(t, nil, "file", "me.png", testimages.SeededPNG("grace", 256, 256))
	r := h.send("POST", "/ac/api/v1/upload-files", http.Header{"X-Angie-AuthApiToken": {"ac-token"}, "Content-Type": {ct}}, body)
	h.mustStatus(r, 200)
	var files []struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(r.body, &files); err != nil || len(files) != 1 {
		t.Fatalf("upload-files: %s", r.body)
	}
	h.mustEqual(initials, h.snapshot("ac", "5"), "after an upload not yet set")

	// A user update that does not touch the avatar purges nothing.
	h.mustStatus(h.send("PUT", "/ac/api/v1/users/5", auth, strings.NewReader(`{"first_name": "Grace B."}`)), 200)
	if r := h.get("/avatar/ac/5?" + variants[0]); r.Header.Get("X-Cache") != "HIT" {
		t.Error("a rename purged the avatar")
	}

	h.mustStatus(h.send("PUT", "/ac/api/v1/users/5", auth,
		strings.NewReader(fmt.Sprintf(`{"uploaded_avatar_code": %q}`, files[0].Code))), 200)
	set := h.snapshot("ac", "5")
	h.mustDiffer(initials, set, "after setting the avatar")

	// Clear back to the initials.
	h.mustStatus(h.send("DELETE", "/ac/api/v1/users/5/clear-avatar", auth, nil), 200)
	h.mustDiffer(set, h.snapshot("ac", "5"), "after clearing")

	// A refused change (unknown upload code) purges nothing.
	h.snapshot("ac", "5")
	r = h.send("PUT", "/ac/api/v1/users/5", auth, strings.NewReader(`{"uploaded_avatar_code": "nope"}`))
	if r.StatusCode < 400 {
		t.Fatalf("unknown upload code accepted: %d", r.StatusCode)
	}
	if r := h.get("/avatar/ac/5?" + variants[0]); r.Header.Get("X-Cache") != "HIT" {
		t.Error("a refused change purged the avatar")
	}
}

func TestActiveCollabDropin(t *testing.T) {
	ac := fakeprovidertest.NewActiveCollab(t, "ac-token")
	h := harnessWith(t, config.Upstream{Name: "ac", Kind: "activecollab", BaseURL: ac.URL(), Token: "ac-token"})
	ac.AddUser("5", "Grace", "Hopper")
	ac.SetAvatar("5", testimages.SeededPNG("grace", 256, 256))
	r := h.get("/proxy.php?proxy=avatar&module=system&v=current&b=DEV&user_id=5&size=40&timestamp=100")
	mustImage(h, r, "public, max-age=31536000, immutable", 40) // the timestamp acts as a version
	direct := h.get("/avatar/ac/5?size=40&timestamp=100")
	if !bytes.Equal(direct.body, r.body) {
		t.Error("the drop-in and the avatar URL disagree")
	}
	// The literal template size is the default.
	h.mustStatus(h.get("/proxy.php?proxy=avatar&module=system&user_id=5&size=--SIZE--"), 200)
	h.mustStatus(h.get("/proxy.php?proxy=forward_thumbnail&user_id=5"), 404)
	h.mustStatus(h.get("/proxy.php?proxy=avatar"), 400)
}

func TestGravatarKind(t *testing.T) {
	g := fakeprovidertest.NewGravatar(t)
	h := harnessWith(t, config.Upstream{Name: "grav", Kind: "gravatar", BaseURL: g.URL()})
	hash := fakeprovider.GravatarHash("someone@example.com")
	g.SetAvatar(hash, testimages.SeededJPEG("someone", 200, 200))
	r := h.get("/avatar/grav/" + hash + "?size=50&format=png")
	h.mustStatus(r, 200)
	if info := imageInfo(t, r.body); info.Width != 50 {
		t.Errorf("width %d", info.Width)
	}
	if r := h.get("/avatar/grav/" + fakeprovider.GravatarHash("nobody@example.com") + "?d=404"); r.StatusCode != 404 {
		t.Errorf("unknown hash: %d", r.StatusCode)
	}
	if r := h.get("/avatar/grav/not-a-hash?d=404"); r.StatusCode != 404 {
		t.Errorf("malformed hash: %d", r.StatusCode)
	}
}

// A purge that lands while a provider fetch is held must win over it.
func TestBoxPurgeWinsOverInflightFetch(t *testing.T) {
	box := fakeprovidertest.NewBox(t, "service-token", "client-token")
	h := harnessWith(t, config.Upstream{
		Name: "box", Kind: "box", BaseURL: box.BaseURL(), Token: "service-token", PassthroughPrefix: "/box",
	})
	box.SetAvatar("7", testimages.SeededJPEG("old", 100, 100))
	gate := box.Hold(fakeprovider.BoxGetAvatar)
	done := make(chan *response, 1)
	go func() { done <- h.get("/avatar/box/7?size=20&format=png") }()
	<-gate.Arrived()

	body, ct := multipartBody(t, nil, "pic", "me.jpg", testimages.SeededJPEG("new", 100, 100))
	h.mustStatus(h.send("POST", "/box/users/7/avatar", http.Header{"Authorization": {"Bearer client-token"}, "Content-Type": {ct}}, body), 200)
	gate.Release()
	stale := <-done
	h.settle()

	fresh := h.get("/avatar/box/7?size=20&format=png")
	if bytes.Equal(fresh.body, stale.body) {
		t.Fatal("the held fetch of the old avatar was cached past the change")
	}
}

// Applications built for Gravatar reach a gravatar upstream by changing
// only their URL template: GitLab's plain_url/ssl_url on the avatar face,
// Discourse's gravatar_base_url on the Gravatar-shaped face.
func TestGravatarCompatibleURLs(t *testing.T) {
	g := fakeprovidertest.NewGravatar(t)
	h := harnessWith(t, config.Upstream{Name: "grav", Kind: "gravatar", BaseURL: g.URL()})
	hash := fakeprovider.GravatarHash("someone@example.com")
	g.SetAvatar(hash, testimages.SeededJPEG("someone", 200, 200))
	for path, edge := range map[string]int{
		"/avatar/grav/" + hash + "?s=48&d=identicon":                                  48, // GitLab
		"/avatar/grav/" + hash + "?s=48&d=mm&r=pg&f=y":                                48,
		"/avatar/grav/" + hash + ".png?s=40&d=retro":                                  40,
		"/gravatar/grav/avatar/" + hash + ".png?s=120&d=404&reset_cache=Zm9vYmE":      120, // Discourse's download
		"/gravatar/grav/avatar/" + hash + ".png?s=45&r=pg&d=identicon":                45,  // Discourse's template
		"/avatar/grav/" + hash + "?size=33&d=https%3A%2F%2Fexample.com%2Fdefault.png": 33,
	} {
		r := h.get(path)
		h.mustStatus(r, 200)
		if info := imageInfo(t, r.body); info.Width != edge {
			t.Errorf("%s: %d wide, want %d", path, info.Width, edge)
		}
	}
	nobody := fakeprovider.GravatarHash("nobody@example.com")
	if r := h.get("/gravatar/grav/avatar/" + nobody + ".png?s=40&d=404&reset_cache=x"); r.StatusCode != 404 {
		t.Errorf("Discourse's d=404 for an unknown hash: %d", r.StatusCode)
	}
	if r := h.get("/gravatar/web/avatar/" + hash); r.StatusCode != 404 {
		t.Errorf("the Gravatar-shaped face under a non-gravatar upstream: %d", r.StatusCode)
	}
}
