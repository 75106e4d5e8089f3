package fakeprovider_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

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
