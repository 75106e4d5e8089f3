// Package hostile is an avatar origin that misbehaves in every way an
// avatar origin can: wrong or lying bodies, resets, drips, bombs, error
// statuses; and, for contrast, good JPEGs and PNGs with ETags. The proxy's
// tests and the soak both point an http upstream at it, and send the proxy
// requests whose bodies drip in with DripRequest.
package hostile

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/bombs"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// Kinds of answer, the first part of a user id: GET /a/{kind} or
// /a/{kind}-{n}, where n picks a variant.
const (
	GoodJPEG  = "jpeg"      // a good JPEG of edge 16 to 1200, every fourth not square, with an ETag
	GoodPNG   = "png"       // the same as a PNG
	Status500 = "status500" // the status, with an HTML body
	Status502 = "status502"
	Status503 = "status503"
	Reset     = "reset"     // the connection dropped with a TCP RST instead of an answer
	Drip      = "drip"      // a good JPEG at one byte per DripEvery, slower than any timeout
	HTML      = "html"      // a sign-in page claiming to be a PNG
	SVG       = "svg"       // an SVG with a script, as image/svg+xml
	Text      = "text"      // a few bytes of text claiming to be a PNG
	Empty     = "empty"     // an empty PNG
	Truncated = "truncated" // a JPEG cut off in its scan data
	Corrupt   = "corrupt"   // a PNG with a sound header and scrambled pixels
	Bomb      = "bomb"      // a PNG claiming 30000 x 30000 pixels over a few bytes
	Huge      = "huge"      // 12.5 MiB of unannounced body
	Liar      = "liar"      // Content-Length 100 over 50 bytes
	Frames    = "frames"    // a GIF of 3000 frames
	Random    = "random"    // 4 KiB << n (n at most 8) of noise claiming to be a JPEG

	// Bombs whose headers understate their decoding, and files cut short.
	AVIFBomb   = "avifbomb"   // an AVIF whose ispe claims 64 x 64 over an AV1 sequence header of 8000 x 8000
	WebPFrames = "webpframes" // an animated WebP of 1001 frames
	PNG16      = "png16"      // a 16-bit RGBA interlaced PNG of 5000 x 5000: 25 MP, 200 MB decoded
	GIFCut     = "gifcut"     // an animated GIF cut off in its second frame
	WebPCut    = "webpcut"    // an animated WebP cut off in its last frame
	AVIFCut    = "avifcut"    // an AVIF cut off in its properties
)

// BombKinds are the kinds the proxy must refuse before decoding them.
var BombKinds = []string{Bomb, Frames, AVIFBomb, WebPFrames, PNG16, GIFCut, WebPCut, AVIFCut}

// DripEvery is the pace of a Drip answer.
const DripEvery = 200 * time.Millisecond

// Cookie is set on every answer, so that tests can check it never reaches
// the avatar face.
const Cookie = "session=stolen"

// goodEdges are the widths of the good avatars, from thumbnail to photo.
var goodEdges = []int{16, 48, 128, 256, 600, 1200}

// maxRendered bounds the good images kept rendered; beyond it they are
// rendered for each request.
const maxRendered = 256

// Origin is the hostile origin, an http.Handler safe for concurrent use.
type Origin struct {
	fixed map[string]fixedBody // the bodies that never vary, made once

	mu       sync.Mutex
	rendered map[string][]byte // good images by user id
}

type fixedBody struct {
	contentType string
	body        []byte
}

// New makes the origin and its fixed bodies.
func New() *Origin {
	good := testimages.JPEG(testimages.Gradient(256, 256), 90)
	scan := bytes.Index(good, []byte{0xff, 0xda}) + 64 // into the scan data
	corrupt := testimages.PNG(testimages.Gradient(64, 64))
	for i := bytes.Index(corrupt, []byte("IDAT")) + 20; i < len(corrupt)-16; i++ {
		corrupt[i] ^= 0x5a
	}
	animation := testimages.ManyFrames(3, 32)
	frame := bombs.VP8LHeader(16, 16)
	webp := bombs.AnimatedWebP(16, 16, frame, frame, frame)
	avif := bombs.AVIF(64, 64)
	return &Origin{
		fixed: map[string]fixedBody{
			HTML: {"image/png", []byte("<!doctype html><html><body>Please sign in</body></html>\n")},
			SVG: {"image/svg+xml", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)" width="100" height="100">` +
				`<circle cx="50" cy="50" r="40" fill="teal"/></svg>`)},
			Text:      {"image/png", []byte("hello")},
			Empty:     {"image/png", nil},
			Truncated: {"image/jpeg", good[:scan]},
			Corrupt:   {"image/png", corrupt},
			Bomb:      {"image/png", testimages.PixelBomb()},
			Frames:    {"image/gif", testimages.ManyFrames(3000, 16)},
			Drip:      {"image/jpeg", good},

			AVIFBomb:   {"image/avif", bombs.AVIF(64, 8000)},
			WebPFrames: {"image/webp", bombs.AnimatedWebP(16, 16, slices.Repeat([][]byte{frame}, 1001)...)},
			PNG16:      {"image/png", bombs.RGBA16PNG(5000, 5000)},
			GIFCut:     {"image/gif", animation[:len(animation)*3/4]},
			WebPCut:    {"image/webp", webp[:len(webp)-len(frame)/2]},
			AVIFCut:    {"image/avif", avif[:len(avif)*3/4]},
		},
		rendered: make(map[string][]byte),
	}
}

func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/a/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	kind, variant, _ := strings.Cut(id, "-")
	n, _ := strconv.Atoi(variant)
	n = max(n, 0)
	w.Header().Set("Set-Cookie", Cookie)
	switch kind {
	case GoodJPEG, GoodPNG:
		o.serveGood(w, r, id, kind, n)
	case Status500, Status502, Status503:
		code, _ := strconv.Atoi(strings.TrimPrefix(kind, "status"))
		http.Error(w, "<html>upstream trouble</html>", code)
	case Reset:
		reset(w)
	case Drip:
		drip(w, r, o.fixed[Drip].body)
	case Huge:
		w.Header().Set("Content-Type", "image/jpeg")
		chunk := bytes.Repeat([]byte{0xff}, 64<<10)
		for range 200 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case Liar:
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", "100")
		w.Write(o.fixed[Drip].body[:50])
	case Random:
		b := make([]byte, 4096<<min(n, 8))
		rand.NewChaCha8([32]byte{byte(n)}).Read(b)
		serve(w, "image/jpeg", b)
	default:
		f, ok := o.fixed[kind]
		if !ok {
			http.NotFound(w, r)
			return
		}
		serve(w, f.contentType, f.body)
	}
}

// serveGood answers with the user's good image, or 304 when the request's
// If-None-Match names it.
func (o *Origin) serveGood(w http.ResponseWriter, r *http.Request, id, kind string, n int) {
	body := o.good(id, kind, n)
	etag := fmt.Sprintf(`"%s-%d"`, id, len(body))
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	serve(w, "image/"+kind, body)
}

// good renders (once, for the first maxRendered ids) the good image of id.
func (o *Origin) good(id, kind string, n int) []byte {
	o.mu.Lock()
	b, ok := o.rendered[id]
	o.mu.Unlock()
	if ok {
		return b
	}
	w := goodEdges[n%len(goodEdges)]
	h := w
	if n%4 == 3 {
		h = w * 2 / 3
	}
	m := testimages.Seeded(id, w, h)
	if kind == GoodPNG {
		b = testimages.PNG(m)
	} else {
		b = testimages.JPEG(m, 90)
	}
	o.mu.Lock()
	if len(o.rendered) < maxRendered {
		o.rendered[id] = b
	}
	o.mu.Unlock()
	return b
}

func serve(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// reset drops the connection with a TCP RST instead of an answer.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

// drip sends body one byte per DripEvery until it is done or the client
// gives up.
func drip(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	tick := time.NewTicker(DripEvery)
	defer tick.Stop()
	for i := range body {
		if _, err := w.Write(body[i : i+1]); err != nil {
			return
		}
		flusher.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}
