package main

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/avatarproxy/avatarproxy/internal/hostile"
)

// A call is one request of the load and what a correct answer looks like.
type call struct {
	method string
	path   string // with the query
	header http.Header
	want   []int // acceptable statuses
	edge   int   // an avatar's edge in pixels, checked on 200; 0: not an avatar
	// fallbacks are the X-Avatar-Fallback reasons a 200 must carry; nil:
	// not checked.
	fallbacks []string
}

var (
	upstreams = []string{"quick", "patient"}
	accepts   = []string{"", "*/*", "image/avif,image/webp,image/*,*/*;q=0.8", "image/webp,*/*",
		"image/png,image/*;q=0.8", "text/html", "image/avif"}
	formats     = []string{"", "", "auto", "jpeg", "png", "webp", "avif"}
	commonSizes = []int{16, 24, 32, 40, 48, 64, 80, 96, 128, 256}
	defaults    = []string{"", "", "", "404", "blank", "identicon", "initials", "mp"}
	// Parameters the proxy must refuse with 400.
	badQueries = []string{"size=0", "size=-3", "size=abc", "size=99999999999999999999", "size=2000",
		"size=%2B64", "dpr=4", "dpr=1.5", "format=bmp", "d=robot", "crop=left", "colour=red",
		"size=10&size=20", "v=not%20a%20token", "v=1&timestamp=2", "size=%zz"}
	// A bomb or a file cut short ends in the default image for one of
	// the first three reasons, before it is decoded; or for one of the
	// others when the upstream, under load, never delivers it whole.
	bombFallbacks = []string{"too-large", "unsupported-image", "bad-image", "circuit-open", "timeout", "unreachable"}
	// Avatar requests answer with an image, 304, a 404 (d=404 for a user
	// without an avatar), or 503 when the resize queue is full.
	avatarStatuses = []int{http.StatusOK, http.StatusNotModified, http.StatusNotFound, http.StatusServiceUnavailable}
)

// pick returns a random request of the mix.
func pick(rng *rand.Rand) call {
	up := upstreams[rng.IntN(len(upstreams))]
	user := pickUser(rng, false)
	switch n := rng.IntN(1000); {
	case n < 10:
		return call{method: http.MethodPost, path: "/purge/" + up + "/" + url.PathEscape(user),
			header: http.Header{"Authorization": {"Bearer " + purgeToken}}, want: []int{http.StatusNoContent}}
	case n < 13:
		return call{method: http.MethodPost, path: "/purge/" + up + "/" + url.PathEscape(user), want: []int{http.StatusUnauthorized}}
	case n < 50:
		return call{method: http.MethodGet, path: "/avatar/" + up + "/" + url.PathEscape(user) + "?" + badQueries[rng.IntN(len(badQueries))],
			want: []int{http.StatusBadRequest}}
	case n < 60:
		return call{method: http.MethodGet, path: "/avatar/nosuch/" + url.PathEscape(user), want: []int{http.StatusNotFound}}
	}

	user = pickUser(rng, true)
	q := url.Values{}
	size := defaultSize
	switch n := rng.IntN(20); {
	case n == 0:
		q.Set("size", "--SIZE--")
	case n == 1:
	case n < 11:
		// Pages ask for a handful of sizes most of the time.
		size = commonSizes[rng.IntN(len(commonSizes))]
		q.Set("size", strconv.Itoa(size))
	default:
		size = 1 + rng.IntN(512)
		q.Set("size", strconv.Itoa(size))
	}
	dpr := 1
	if rng.IntN(3) == 0 {
		dpr = 1 + rng.IntN(3)
		q.Set("dpr", strconv.Itoa(dpr))
	}
	if f := formats[rng.IntN(len(formats))]; f != "" {
		q.Set("format", f)
	}
	if d := defaults[rng.IntN(len(defaults))]; d != "" {
		q.Set("d", d)
	}
	if rng.IntN(10) == 0 {
		q.Set("v", strconv.Itoa(rng.IntN(3)))
	}
	if rng.IntN(10) == 0 {
		q.Set("crop", "attention")
	}
	c := call{method: http.MethodGet, path: "/avatar/" + up + "/" + url.PathEscape(user) + "?" + q.Encode(),
		header: make(http.Header), want: avatarStatuses, edge: min(size*dpr, maxSize)}
	if kind, _, _ := strings.Cut(user, "-"); slices.Contains(hostile.BombKinds, kind) {
		c.fallbacks = bombFallbacks
	}
	if rng.IntN(7) == 0 {
		c.method = http.MethodHead
	}
	if a := accepts[rng.IntN(len(accepts))]; a != "" {
		c.header.Set("Accept", a)
	}
	if rng.IntN(10) == 0 {
		c.header.Set("If-None-Match", `"not-this-one"`)
	}
	return c
}
