package fakeprovider

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
)

// Routes of the Box fake.
const (
	BoxGetAvatar    = "GET /2.0/users/{id}/avatar"
	BoxUploadAvatar = "POST /2.0/users/{id}/avatar"
	BoxDeleteAvatar = "DELETE /2.0/users/{id}/avatar"
)

// BoxCookie is the cookie the Box fake sets on every response, as Box
// does, so tests can check it never reaches the avatar face.
const BoxCookie = "box_visitor_id"

// boxMaxPic is the largest avatar upload Box accepts.
const boxMaxPic = 1 << 20

// Box fakes the Box API's user avatar endpoints under /2.0, and its token
// endpoint for Client Credentials Grant (see SetApp). Every API request
// needs Authorization: Bearer with one of the fake's tokens.
type Box struct {
	*server
	tokens []string
	auth   boxAuth

	mu      sync.Mutex
	avatars map[string][]byte
	version int
}

// StartBox starts a Box fake that accepts the given bearer tokens, or any
// non-empty one when none are given. Close stops it.
func StartBox(tokens ...string) (*Box, error) {
	b := &Box{tokens: tokens, avatars: make(map[string][]byte)}
	b.server = newServer(bearerToken)
	b.handle(BoxGetAvatar, pathID, b.getAvatar)
	b.handle(BoxUploadAvatar, pathID, jsonRoute(&b.mu, b.authorized, b.uploadAvatar))
	b.handle(BoxDeleteAvatar, pathID, jsonRoute(&b.mu, b.authorized, b.deleteAvatar))
	b.handle(BoxToken, func(*http.Request) string { return "" }, b.token)
	return started(b)
}

// BaseURL is the value for an upstream's base_url, like
// https://api.box.com/2.0.
func (b *Box) BaseURL() string { return b.URL() + "/2.0" }

// SetAvatar gives the user an avatar, as an upload would. The bytes are
// stored as given, so tests can also offer an image that is not one.
func (b *Box) SetAvatar(userID string, img []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.avatars[userID] = img
	b.version++
}

// RemoveAvatar takes the user's avatar away, as a delete would.
func (b *Box) RemoveAvatar(userID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.avatars, userID)
	b.version++
}

// Avatar returns the user's avatar as stored.
func (b *Box) Avatar(userID string) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	img, ok := b.avatars[userID]
	return img, ok
}

func bearerToken(r *http.Request) string {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return token
}

// authorized answers 401 as Box does, with its error JSON and a
// WWW-Authenticate challenge, unless the request carries a good token: an
// unknown, expired or revoked one gets the same answer.
func (b *Box) authorized(w http.ResponseWriter, r *http.Request) bool {
	http.SetCookie(w, &http.Cookie{Name: BoxCookie, Value: "fake-visitor", Path: "/", HttpOnly: true})
	ok := b.accepts(bearerToken(r))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Service", error="invalid_token", error_description="The access token provided is invalid."`)
		status, body := boxError(http.StatusUnauthorized, "unauthorized", "Unauthorized")
		writeJSON(w, status, body)
	}
	return ok
}

func (b *Box) getAvatar(w http.ResponseWriter, r *http.Request) {
	if !b.authorized(w, r) {
		return
	}
	img, ok := b.Avatar(r.PathValue("id"))
	if !ok {
		status, body := boxError(http.StatusNotFound, "not_found", "Not Found")
		writeJSON(w, status, body)
		return
	}
	// Box labels every avatar so, whatever the image is.
	w.Header().Set("Content-Type", "image/jpg")
	_, _ = w.Write(img)
}

// uploadAvatar takes a multipart part named pic, JPEG or PNG, at most 1 MB;
// 201 when the user had no avatar, 200 when it replaced one.
func (b *Box) uploadAvatar(r *http.Request) (int, any) {
	img, err := readPic(r)
	if err != nil {
		return boxError(http.StatusBadRequest, "bad_request", err.Error())
	}
	id := r.PathValue("id")
	_, replaced := b.avatars[id]
	b.avatars[id] = img
	b.version++

	status := http.StatusCreated
	if replaced {
		status = http.StatusOK
	}
	picURL := func(size string) string {
		return fmt.Sprintf("%s/index.php?rm=pic_storage_auth&pic=%s-%d-%s", b.URL(), id, b.version, size)
	}
	return status, map[string]any{
		"pic_urls": map[string]string{
			"small":   picURL("small"),
			"large":   picURL("large"),
			"preview": picURL("preview"),
		},
	}
}

func readPic(r *http.Request) ([]byte, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("expected a multipart/form-data body: %w", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("missing the pic part")
		}
		if err != nil {
			return nil, fmt.Errorf("reading the multipart body: %w", err)
		}
		if part.FormName() == "pic" {
			return readImagePart(part, boxMaxPic)
		}
	}
}

// readImagePart reads an uploaded JPEG or PNG of at most limit bytes.
func readImagePart(part *multipart.Part, limit int64) ([]byte, error) {
	img, err := io.ReadAll(io.LimitReader(part, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the upload: %w", err)
	}
	if int64(len(img)) > limit {
		return nil, fmt.Errorf("the image is larger than %d bytes", limit)
	}
	if _, _, err := decodeImage(img); err != nil {
		return nil, fmt.Errorf("the upload is not a JPEG or PNG image: %w", err)
	}
	return img, nil
}

func (b *Box) deleteAvatar(r *http.Request) (int, any) {
	id := r.PathValue("id")
	_, ok := b.avatars[id]
	delete(b.avatars, id)
	b.version++
	if !ok {
		return boxError(http.StatusNotFound, "not_found", "Not Found")
	}
	return http.StatusNoContent, nil
}

// boxError is Box's client error answer.
func boxError(status int, code, message string) (int, any) {
	return status, map[string]any{
		"type":         "error",
		"status":       status,
		"code":         code,
		"message":      message,
		"help_url":     "http://developers.box.com/docs/#errors",
		"request_id":   "fakeprovider",
		"context_info": map[string]any{},
	}
}
