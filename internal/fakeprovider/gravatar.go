package fakeprovider

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/draw"
)

// GravatarAvatar is the Gravatar fake's route.
const GravatarAvatar = "GET /avatar/{hash}"

// Gravatar fakes a Gravatar-compatible service: GET /avatar/{hash}?s=&d=.
type Gravatar struct {
	*server

	mu      sync.Mutex
	avatars map[string][]byte
}

// StartGravatar starts a Gravatar fake. Close stops it.
func StartGravatar() (*Gravatar, error) {
	g := &Gravatar{avatars: make(map[string][]byte)}
	g.server = newServer(func(*http.Request) string { return "" })
	g.handle(GravatarAvatar, func(r *http.Request) string { return r.PathValue("hash") }, g.avatar)
	return started(g)
}

// GravatarHash returns the SHA-256 hash Gravatar names an e-mail address
// by.
func GravatarHash(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// SetAvatar gives the hash an avatar. A JPEG or PNG is scaled to the size
// asked for; any other bytes are served as they are, so that tests can
// offer an image that is not one.
func (g *Gravatar) SetAvatar(hash string, img []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.avatars[hash] = img
}

// RemoveAvatar takes the hash's avatar away.
func (g *Gravatar) RemoveAvatar(hash string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.avatars, hash)
}

// avatar serves the image at s pixels (default 80, at most 2048). Sizes at
// or above the stored image's serve it unscaled, which keeps tests fast.
// Without an avatar, d=404 answers 404 and anything else a default
// picture. ETag and If-None-Match work as on Gravatar.
func (g *Gravatar) avatar(w http.ResponseWriter, r *http.Request) {
	hash := r.PathValue("hash")
	q := r.URL.Query()
	size := 80
	if s := q.Get("s"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 2048 {
			http.Error(w, "s must be 1 to 2048", http.StatusBadRequest)
			return
		}
		size = n
	}
	g.mu.Lock()
	stored, ok := g.avatars[hash]
	g.mu.Unlock()

	var body []byte
	switch {
	case !ok && q.Get("d") == "404":
		http.NotFound(w, r)
		return
	case !ok:
		body = initials("gravatar-default", "", size)
	default:
		body = stored
		img, format, err := decodeImage(stored)
		if err == nil && (size < img.Bounds().Dx() || size < img.Bounds().Dy()) {
			thumb := scale(img, size, size, draw.ApproxBiLinear)
			if format == "png" {
				body = encodePNG(thumb)
			} else {
				body = encodeJPEG(thumb)
			}
		}
	}
	sum := md5.Sum(body)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "max-age=300")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(body))
	_, _ = w.Write(body)
}
