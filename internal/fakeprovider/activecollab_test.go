package fakeprovider_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

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
