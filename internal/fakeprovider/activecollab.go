package fakeprovider

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/draw"
)

// Routes of the ActiveCollab fake.
const (
	ActiveCollabAvatar      = "GET /proxy.php"
	ActiveCollabUploadFiles = "POST /api/v1/upload-files"
	ActiveCollabUpdateUser  = "PUT /api/v1/users/{id}"
	ActiveCollabClearAvatar = "DELETE /api/v1/users/{id}/clear-avatar"
	ActiveCollabGetUser     = "GET /api/v1/users/{id}"
)

const activeCollabMaxUpload = 5 << 20

// ActiveCollab fakes an ActiveCollab installation's avatar proxy and the
// user and upload API under /api/v1, which need X-Angie-AuthApiToken equal
// to the fake's token. The avatar proxy, like ActiveCollab's, needs none.
type ActiveCollab struct {
	*server
	token string

	mu      sync.Mutex
	users   userTable[acUser]
	uploads map[string][]byte // by upload code
	clock   int64             // last updated_on handed out
	counter int
}

type acUser struct {
	firstName, lastName string
	avatar              []byte // nil: rendered initials
	updatedOn           int64
}

// StartActiveCollab starts an ActiveCollab fake that accepts token. Close
// stops it.
func StartActiveCollab(token string) (*ActiveCollab, error) {
	a := &ActiveCollab{token: token, uploads: make(map[string][]byte)}
	a.users = newUserTable[acUser](&a.mu)
	a.server = newServer(func(r *http.Request) string { return r.Header.Get("X-Angie-AuthApiToken") })
	a.handle(ActiveCollabAvatar, func(r *http.Request) string { return r.URL.Query().Get("user_id") }, a.avatar)
	a.handle(ActiveCollabUploadFiles, func(*http.Request) string { return "" }, a.uploadFiles)
	a.handle(ActiveCollabUpdateUser, pathID, a.userRoute(a.updateUser))
	a.handle(ActiveCollabClearAvatar, pathID, a.userRoute(a.clearAvatar))
	a.handle(ActiveCollabGetUser, pathID, a.userRoute(a.getUser))
	return started(a)
}

// AddUser adds a user, or resets one, without an uploaded avatar.
func (a *ActiveCollab) AddUser(userID, firstName, lastName string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users.byID[userID] = &acUser{firstName: firstName, lastName: lastName, updatedOn: a.tickLocked()}
}

// SetAvatar gives the user an uploaded avatar, adding the user (named
// "User {id}") if need be. img must be a JPEG or PNG.
func (a *ActiveCollab) SetAvatar(userID string, img []byte) {
	if _, _, err := decodeImage(img); err != nil {
		panic("fakeprovider: ActiveCollab.SetAvatar: " + err.Error())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.users.findOrAddLocked(userID, func() *acUser { return &acUser{firstName: "User", lastName: userID} })
	u.avatar, u.updatedOn = img, a.tickLocked()
}

// Avatar returns the user's uploaded avatar; false when the user has none
// and gets initials.
func (a *ActiveCollab) Avatar(userID string) ([]byte, bool) {
	return a.users.image(userID, func(u *acUser) []byte { return u.avatar })
}

// tickLocked returns the time for updated_on, strictly later than any
// before it so that every change gets a new avatar URL timestamp.
func (a *ActiveCollab) tickLocked() int64 {
	a.clock = max(a.clock+1, time.Now().Unix())
	return a.clock
}

func (a *ActiveCollab) authorized(w http.ResponseWriter, r *http.Request) bool {
	if a.token == "" || r.Header.Get("X-Angie-AuthApiToken") != a.token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"type": "Unauthorized", "message": "Authentication token is not valid"})
		return false
	}
	return true
}

// userRoute serves an API request about the user of {id}; see userRoute.
func (a *ActiveCollab) userRoute(h func(r *http.Request, id string, u *acUser) (int, any)) http.HandlerFunc {
	notFound := func() (int, any) {
		return http.StatusNotFound, map[string]any{"type": "NotFound", "message": "User not found"}
	}
	return userRoute(a.users, a.authorized, notFound, h)
}

// avatar serves proxy.php?proxy=avatar&user_id=..&size=.. as ActiveCollab
// does: a PNG of twice the size, an unquoted MD5 Etag, 304 when
// If-None-Match matches it, and initials for a user without an upload.
func (a *ActiveCollab) avatar(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("proxy") != "avatar" {
		http.NotFound(w, r)
		return
	}
	size, err := strconv.Atoi(q.Get("size"))
	if err != nil || (size != 20 && size != 40 && size != 80 && size != 256) {
		http.Error(w, "size must be 20, 40, 80 or 256", http.StatusBadRequest)
		return
	}
	id := q.Get("user_id")
	a.mu.Lock()
	u := a.users.byID[id]
	var (
		upload []byte
		name   string
	)
	if u != nil {
		upload, name = u.avatar, strings.TrimSpace(u.firstName+" "+u.lastName)
	}
	a.mu.Unlock()
	if u == nil {
		http.NotFound(w, r)
		return
	}

	edge := 2 * size
	var img []byte
	if upload == nil {
		img = initials("activecollab-"+id, name, edge)
	} else {
		src, _, err := decodeImage(upload)
		if err != nil {
			http.Error(w, "stored avatar is unreadable", http.StatusInternalServerError)
			return
		}
		img = encodePNG(scale(src, edge, edge, draw.ApproxBiLinear))
	}
	sum := md5.Sum(img)
	etag := hex.EncodeToString(sum[:])
	w.Header().Set("Etag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(img)
}

// uploadFiles stores each file of a multipart upload and answers the list
// of uploaded files with the codes that later requests refer to.
func (a *ActiveCollab) uploadFiles(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(w, r) {
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "expected a multipart/form-data body", http.StatusBadRequest)
		return
	}
	var files []map[string]any
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			http.Error(w, "reading the multipart body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if part.FileName() == "" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, activeCollabMaxUpload+1))
		if err != nil || len(data) > activeCollabMaxUpload {
			http.Error(w, "the file is too large", http.StatusRequestEntityTooLarge)
			return
		}
		a.mu.Lock()
		a.counter++
		sum := sha1.Sum(fmt.Appendf(nil, "%d:%x", a.counter, data))
		code := hex.EncodeToString(sum[:])
		a.uploads[code] = data
		a.mu.Unlock()
		files = append(files, map[string]any{
			"code":      code,
			"name":      part.FileName(),
			"mime_type": http.DetectContentType(data),
			"size":      len(data),
			"thumbnail_url": a.URL() + "/proxy.php?proxy=forward_thumbnail&module=system&context=upload&name=" +
				url.QueryEscape(code) + "&width=--WIDTH--&height=--HEIGHT--&scale=--SCALE--",
		})
	}
	if len(files) == 0 {
		http.Error(w, "no file was uploaded", http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, files)
}

// updateUser applies a user edit. uploaded_avatar_code sets the avatar to
// a file from upload-files; first_name and last_name rename the user.
func (a *ActiveCollab) updateUser(r *http.Request, id string, u *acUser) (int, any) {
	var body struct {
		UploadedAvatarCode *string `json:"uploaded_avatar_code"`
		FirstName          *string `json:"first_name"`
		LastName           *string `json:"last_name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return http.StatusBadRequest, map[string]any{"type": "Error", "message": "invalid JSON body"}
	}
	if body.UploadedAvatarCode != nil {
		img, ok := a.uploads[*body.UploadedAvatarCode]
		if !ok {
			return acValidationError("uploaded_avatar_code", "Uploaded file not found")
		}
		if _, _, err := decodeImage(img); err != nil {
			return acValidationError("uploaded_avatar_code", "Avatar must be a PNG or JPEG image")
		}
		delete(a.uploads, *body.UploadedAvatarCode)
		u.avatar = img
	}
	if body.FirstName != nil {
		u.firstName = *body.FirstName
	}
	if body.LastName != nil {
		u.lastName = *body.LastName
	}
	u.updatedOn = a.tickLocked()
	return a.getUser(r, id, u)
}

// clearAvatar drops the uploaded avatar; the user gets initials again.
func (a *ActiveCollab) clearAvatar(r *http.Request, id string, u *acUser) (int, any) {
	u.avatar = nil
	u.updatedOn = a.tickLocked()
	return a.getUser(r, id, u)
}

func (a *ActiveCollab) getUser(_ *http.Request, id string, u *acUser) (int, any) {
	return http.StatusOK, map[string]any{"single": a.userJSONLocked(id, u)}
}

// userJSONLocked is the user as ActiveCollab's API shows one, with the
// avatar_url template clients fill in with --SIZE--.
func (a *ActiveCollab) userJSONLocked(id string, u *acUser) map[string]any {
	var jsonID any = id
	if n, err := strconv.Atoi(id); err == nil {
		jsonID = n
	}
	display := strings.TrimSpace(u.firstName + " " + u.lastName)
	return map[string]any{
		"id":           jsonID,
		"class":        "Member",
		"url_path":     "/users/" + id,
		"first_name":   u.firstName,
		"last_name":    u.lastName,
		"display_name": display,
		"email":        id + "@activecollab.invalid",
		"avatar_url": fmt.Sprintf("%s/proxy.php?proxy=avatar&module=system&v=current&b=DEV&user_id=%s&size=--SIZE--&timestamp=%d",
			a.URL(), url.QueryEscape(id), u.updatedOn),
		"updated_on": u.updatedOn,
	}
}

func acValidationError(field, message string) (int, any) {
	return http.StatusBadRequest, map[string]any{
		"type":         "ValidationErrors",
		"message":      "Validation failed",
		"field_errors": map[string][]string{field: {message}},
	}
}
