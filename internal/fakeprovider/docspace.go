package fakeprovider

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/draw"
)

// Routes of the DocSpace fake.
const (
	DocSpaceGetPhoto     = "GET /api/2.0/people/{id}/photo"
	DocSpaceUploadPhoto  = "POST /api/2.0/people/{id}/photo"
	DocSpaceUpdatePhoto  = "PUT /api/2.0/people/{id}/photo"
	DocSpaceDeletePhoto  = "DELETE /api/2.0/people/{id}/photo"
	DocSpaceCropPhoto    = "POST /api/2.0/people/{id}/photo/thumbnails"
	DocSpaceGetPerson    = "GET /api/2.0/people/{id}"
	DocSpacePhotoFile    = "GET /storage/userPhotos/root/{file}"
	DocSpaceTempFile     = "GET /storage/userPhotos/temp/{file}"
	DocSpaceDefaultPhoto = "GET /static/images/{file}"
)

const (
	docSpaceMaxPhoto  = 5 << 20
	photoPath         = "/storage/userPhotos/root/"
	tempPath          = "/storage/userPhotos/temp/"
	defaultPhotoPath  = "/static/images/"
	defaultPhotoStart = "default_user_photo_size_"
)

// docSpaceSizes are the thumbnails DocSpace keeps beside the original.
var docSpaceSizes = []struct {
	key  string
	edge int
}{
	{"retina", 360}, {"max", 200}, {"big", 82}, {"medium", 48}, {"small", 32},
}

// DocSpace fakes ONLYOFFICE DocSpace's people and photo API and its login
// (see AddAccount). API and storage requests need an Authorization header:
// the API key, bare or as "Bearer {key}", or a live session token.
// Photo URLs are relative and carry a ?hash= that changes with every
// change of the photo, as DocSpace's do; the file name alone stays the
// same, so an old URL serves the new photo.
type DocSpace struct {
	*server
	apiKey string
	auth   docSpaceAuth

	mu          sync.Mutex
	people      userTable[person]
	temp        map[string][]byte
	changes     int
	storageBase string
}

type person struct {
	firstName, lastName string
	photo               []byte // nil: the default pictures
	format              string // "jpeg" or "png"
	width, height       int
	hash                string
}

// StartDocSpace starts a DocSpace fake that accepts apiKey, or only
// session tokens when apiKey is empty. Close stops it.
func StartDocSpace(apiKey string) (*DocSpace, error) {
	d := &DocSpace{apiKey: apiKey, temp: make(map[string][]byte), auth: newDocSpaceAuth()}
	d.people = newUserTable[person](&d.mu)
	d.server = newServer(func(r *http.Request) string { return r.Header.Get("Authorization") })
	fileID := func(r *http.Request) string {
		id, _, _ := strings.Cut(r.PathValue("file"), "_")
		return id
	}
	none := func(*http.Request) string { return "" }
	d.handle(DocSpaceGetPhoto, pathID, d.personRoute(d.getPhoto))
	d.handle(DocSpaceUploadPhoto, pathID, d.personRoute(d.uploadPhoto))
	d.handle(DocSpaceUpdatePhoto, pathID, d.personRoute(d.updatePhoto))
	d.handle(DocSpaceDeletePhoto, pathID, d.personRoute(d.deletePhoto))
	d.handle(DocSpaceCropPhoto, pathID, d.personRoute(d.cropPhoto))
	d.handle(DocSpaceGetPerson, pathID, d.personRoute(d.getPerson))
	d.handle(DocSpacePhotoFile, fileID, d.photoFile)
	d.handle(DocSpaceTempFile, none, d.tempFile)
	d.handle(DocSpaceDefaultPhoto, none, d.defaultPhoto)
	d.handle(DocSpaceAuthenticate, none, d.authenticate)
	return started(d)
}

// AddPerson adds a user, or resets one, without a photo. User ids must not
// contain an underscore, which separates the id in photo file names.
func (d *DocSpace) AddPerson(userID, firstName, lastName string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.people.byID[userID] = &person{firstName: firstName, lastName: lastName}
}

// SetPhoto sets the user's photo, adding the user (named "User {id}") if
// need be. img must be a JPEG or PNG.
func (d *DocSpace) SetPhoto(userID string, img []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.people.findOrAddLocked(userID, func() *person { return &person{firstName: "User", lastName: userID} })
	if err := d.setPhotoLocked(p, img); err != nil {
		panic("fakeprovider: DocSpace.SetPhoto: " + err.Error())
	}
}

// Photo returns the user's photo as stored; false when the user has the
// default pictures.
func (d *DocSpace) Photo(userID string) ([]byte, bool) {
	return d.people.image(userID, func(p *person) []byte { return p.photo })
}

// PhotoURL returns the URL the API reports as the user's original photo.
func (d *DocSpace) PhotoURL(userID string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.people.findLocked(userID)
	if !ok {
		return ""
	}
	return d.thumbnailsLocked(userID, p)["original"]
}

// SetStorageBase makes photo URLs absolute under base (say another
// server's URL) instead of relative, as a DocSpace whose storage is
// served from another host reports them.
func (d *DocSpace) SetStorageBase(base string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.storageBase = strings.TrimSuffix(base, "/")
}

func (d *DocSpace) setPhotoLocked(p *person, img []byte) error {
	header, err := imageConfig(img)
	if err != nil {
		return fmt.Errorf("not a JPEG or PNG image: %w", err)
	}
	d.changes++
	p.photo, p.format = img, header.format
	p.width, p.height = header.Width, header.Height
	p.hash = strconv.Itoa(1000 + d.changes)
	return nil
}

func (p *person) originalName(userID string) string {
	return fmt.Sprintf("%s_orig_%d-%d.%s", userID, p.width, p.height, p.format)
}

func (p *person) sizeName(userID string, edge int) string {
	return fmt.Sprintf("%s_size_%d-%d.%s", userID, edge, edge, p.format)
}

// thumbnailsLocked is the photo set DocSpace reports: the original and
// its thumbnails, or the default pictures.
func (d *DocSpace) thumbnailsLocked(userID string, p *person) map[string]string {
	set := make(map[string]string)
	if p.photo == nil {
		set["original"] = defaultPhotoPath + defaultPhotoName(1280)
		for _, s := range docSpaceSizes {
			set[s.key] = defaultPhotoPath + defaultPhotoName(s.edge)
		}
		return set
	}
	link := func(name string) string {
		return d.storageBase + photoPath + name + "?hash=" + p.hash
	}
	set["original"] = link(p.originalName(userID))
	for _, s := range docSpaceSizes {
		set[s.key] = link(p.sizeName(userID, s.edge))
	}
	return set
}

func defaultPhotoName(edge int) string {
	return fmt.Sprintf("%s%d-%d.png", defaultPhotoStart, edge, edge)
}

// authorized answers 401 unless the request carries the API key or a
// live session token.
func (d *DocSpace) authorized(w http.ResponseWriter, r *http.Request) bool {
	if !d.accepts(r.Header.Get("Authorization")) {
		status, body := docSpaceError(http.StatusUnauthorized, "Unauthorized")
		writeJSON(w, status, body)
		return false
	}
	return true
}

// personRoute serves an API request about the person of {id}; see
// userRoute.
func (d *DocSpace) personRoute(h func(r *http.Request, id string, p *person) (int, any)) http.HandlerFunc {
	notFound := func() (int, any) { return docSpaceError(http.StatusNotFound, "The user could not be found") }
	return userRoute(d.people, d.authorized, notFound, h)
}

func (d *DocSpace) getPhoto(r *http.Request, id string, p *person) (int, any) {
	return docSpaceOK(r, d.thumbnailsLocked(id, p))
}

func (d *DocSpace) getPerson(r *http.Request, id string, p *person) (int, any) {
	set := d.thumbnailsLocked(id, p)
	return docSpaceOK(r, map[string]any{
		"id":             id,
		"userName":       strings.ToLower(p.firstName + "." + p.lastName),
		"firstName":      p.firstName,
		"lastName":       p.lastName,
		"displayName":    strings.TrimSpace(p.firstName + " " + p.lastName),
		"email":          id + "@docspace.invalid",
		"hasAvatar":      p.photo != nil,
		"avatarOriginal": set["original"],
		"avatarMax":      set["max"],
		"avatar":         set["big"],
		"avatarMedium":   set["medium"],
		"avatarSmall":    set["small"],
	})
}

// uploadPhoto takes a multipart file (the part named File) and Autosave.
// With Autosave=true the file becomes the photo; otherwise it is kept as a
// temporary file for the thumbnails request. A bad file is, as in
// DocSpace, HTTP 200 with success false, and changes nothing.
func (d *DocSpace) uploadPhoto(r *http.Request, id string, p *person) (int, any) {
	img, autosave, err := readPhotoUpload(r)
	if err != nil {
		return docSpaceOK(r, map[string]any{"success": false, "message": err.Error()})
	}
	var data string
	if autosave {
		if err := d.setPhotoLocked(p, img); err != nil {
			return docSpaceOK(r, map[string]any{"success": false, "message": err.Error()})
		}
		data = d.thumbnailsLocked(id, p)["original"]
	} else {
		d.changes++
		header, _ := imageConfig(img) // readPhotoUpload checked it
		name := fmt.Sprintf("%d.%s", d.changes, header.format)
		d.temp[name] = img
		data = d.storageBase + tempPath + name
	}
	return docSpaceOK(r, map[string]any{"success": true, "data": data})
}

func readPhotoUpload(r *http.Request) (img []byte, autosave bool, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, false, errors.New("expected a multipart/form-data body")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading the multipart body: %w", err)
		}
		switch part.FormName() {
		case "Autosave":
			v, _ := io.ReadAll(io.LimitReader(part, 16))
			autosave = strings.EqualFold(strings.TrimSpace(string(v)), "true")
		case "File":
			if img, err = readImagePart(part, docSpaceMaxPhoto); err != nil {
				return nil, false, err
			}
		}
	}
	if img == nil {
		return nil, false, errors.New("no file was uploaded")
	}
	return img, autosave, nil
}

// updatePhoto sets the photo from {"files": url}, where url names a file
// this fake serves (DocSpace itself would download any URL).
func (d *DocSpace) updatePhoto(r *http.Request, id string, p *person) (int, any) {
	var body struct {
		Files string `json:"files"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return docSpaceError(http.StatusBadRequest, "invalid JSON body")
	}
	img, ok := d.fileLocked(body.Files)
	if !ok {
		return docSpaceError(http.StatusBadRequest, "files must name an image this server holds")
	}
	if err := d.setPhotoLocked(p, img); err != nil {
		return docSpaceError(http.StatusBadRequest, err.Error())
	}
	return docSpaceOK(r, d.thumbnailsLocked(id, p))
}

// deletePhoto puts the default pictures back and reports them.
func (d *DocSpace) deletePhoto(r *http.Request, id string, p *person) (int, any) {
	d.changes++
	p.photo, p.hash = nil, ""
	return docSpaceOK(r, d.thumbnailsLocked(id, p))
}

// cropPhoto makes the photo the given rectangle of tmpFile (or of the
// current photo when tmpFile is empty), with a new hash.
func (d *DocSpace) cropPhoto(r *http.Request, id string, p *person) (int, any) {
	var body struct {
		TmpFile string `json:"tmpFile"`
		X       int    `json:"x"`
		Y       int    `json:"y"`
		Width   int    `json:"width"`
		Height  int    `json:"height"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return docSpaceError(http.StatusBadRequest, "invalid JSON body")
	}
	src, ok := p.photo, p.photo != nil
	if body.TmpFile != "" {
		src, ok = d.fileLocked(body.TmpFile)
	}
	if !ok {
		return docSpaceError(http.StatusBadRequest, "no image to crop")
	}
	img, _, err := decodeImage(src)
	if err != nil {
		return docSpaceError(http.StatusBadRequest, err.Error())
	}
	rect := image.Rect(body.X, body.Y, body.X+body.Width, body.Y+body.Height).Intersect(img.Bounds())
	if rect.Empty() {
		return docSpaceError(http.StatusBadRequest, "the crop rectangle is outside the image")
	}
	cropped := image.NewRGBA(image.Rect(0, 0, rect.Dx(), rect.Dy()))
	draw.Draw(cropped, cropped.Bounds(), img, rect.Min, draw.Src)
	if err := d.setPhotoLocked(p, encodeJPEG(cropped)); err != nil {
		return docSpaceError(http.StatusInternalServerError, err.Error())
	}
	return docSpaceOK(r, d.thumbnailsLocked(id, p))
}

// fileLocked returns the bytes of a photo or temporary file this fake
// serves, named by an absolute or relative URL or a bare temporary name.
func (d *DocSpace) fileLocked(ref string) ([]byte, bool) {
	u, err := url.Parse(ref)
	if err != nil {
		return nil, false
	}
	switch {
	case strings.HasPrefix(u.Path, tempPath):
		img, ok := d.temp[strings.TrimPrefix(u.Path, tempPath)]
		return img, ok
	case strings.HasPrefix(u.Path, photoPath):
		img, _, ok := d.photoFileLocked(strings.TrimPrefix(u.Path, photoPath))
		return img, ok
	default:
		img, ok := d.temp[ref]
		return img, ok
	}
}

// photoFileLocked finds a stored photo file by name: an original or one of
// its thumbnails, which it renders.
func (d *DocSpace) photoFileLocked(name string) ([]byte, string, bool) {
	id, _, _ := strings.Cut(name, "_")
	p, ok := d.people.findLocked(id)
	if !ok || p.photo == nil {
		return nil, "", false
	}
	if name == p.originalName(id) {
		return p.photo, p.format, true
	}
	for _, s := range docSpaceSizes {
		if name == p.sizeName(id, s.edge) {
			img, _, err := decodeImage(p.photo)
			if err != nil {
				return nil, "", false
			}
			thumb := scale(img, s.edge, s.edge, draw.ApproxBiLinear)
			if p.format == "png" {
				return encodePNG(thumb), p.format, true
			}
			return encodeJPEG(thumb), p.format, true
		}
	}
	return nil, "", false
}

func (d *DocSpace) photoFile(w http.ResponseWriter, r *http.Request) {
	if !d.authorized(w, r) {
		return
	}
	d.mu.Lock()
	img, format, ok := d.photoFileLocked(r.PathValue("file"))
	d.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/"+format)
	_, _ = w.Write(img)
}

func (d *DocSpace) tempFile(w http.ResponseWriter, r *http.Request) {
	if !d.authorized(w, r) {
		return
	}
	d.mu.Lock()
	img, ok := d.temp[r.PathValue("file")]
	d.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(img))
	_, _ = w.Write(img)
}

// defaultPhoto serves the stock pictures, which need no credentials.
func (d *DocSpace) defaultPhoto(w http.ResponseWriter, r *http.Request) {
	var edge int
	if _, err := fmt.Sscanf(r.PathValue("file"), defaultPhotoStart+"%d-", &edge); err != nil || edge < 1 || edge > 1280 ||
		r.PathValue("file") != defaultPhotoName(edge) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(initials("docspace-default", "", edge))
}

// docSpaceOK is DocSpace's success envelope around response.
func docSpaceOK(r *http.Request, response any) (int, any) {
	return http.StatusOK, map[string]any{
		"response":   response,
		"count":      1,
		"links":      []map[string]string{{"href": r.URL.String(), "action": r.Method}},
		"status":     0,
		"statusCode": http.StatusOK,
	}
}

// docSpaceError is DocSpace's error envelope.
func docSpaceError(status int, message string) (int, any) {
	return status, map[string]any{
		"error":      map[string]any{"message": message, "type": "System.Exception", "stack": ""},
		"status":     1,
		"statusCode": status,
	}
}
