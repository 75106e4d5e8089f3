package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // dimensions decodes what the proxy sends
	_ "image/png"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "golang.org/x/image/webp"
)

// exchange sends one request of the mix, checks the answer, and sometimes
// follows a 200 with a conditional request for the same avatar. It returns
// the Retry-After of a 503, else 0.
func exchange(client *http.Client, base string, rng *rand.Rand, st *stats) time.Duration {
	c := pick(rng)
	etag, wait := send(client, base, c, st)
	if etag != "" && rng.IntN(4) == 0 {
		c.header = c.header.Clone()
		c.header.Set("If-None-Match", etag)
		_, wait = send(client, base, c, st)
	}
	return wait
}

// send makes one request and returns the ETag of an avatar sent with 200,
// or the Retry-After of a 503.
func send(client *http.Client, base string, c call, st *stats) (etag string, retryAfter time.Duration) {
	req, err := http.NewRequest(c.method, base+c.path, nil)
	if err != nil {
		st.fail("bad-url", "%s %s: %v", c.method, c.path, err)
		return "", 0
	}
	maps.Copy(req.Header, c.header)
	resp, err := client.Do(req)
	if err != nil {
		st.fail("no-response", "%s %s: %v", c.method, c.path, err)
		return "", 0
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		st.fail("body-cut-short", "%s %s: %v", c.method, c.path, err)
		return "", 0
	}
	st.record(resp.StatusCode, resp.Header)
	what := fmt.Sprintf("%s %s (Accept %q): %d", c.method, c.path, c.header.Get("Accept"), resp.StatusCode)
	switch {
	case resp.StatusCode == http.StatusInternalServerError:
		st.fail("status-500", "%s %q", what, body)
		return "", 0
	case !slices.Contains(c.want, resp.StatusCode):
		st.fail("unexpected-status", "%s, want one of %v; body %q", what, c.want, truncate(body))
		return "", 0
	case resp.StatusCode == http.StatusServiceUnavailable:
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs < 0 {
			st.fail("503-without-retry-after", "%s: Retry-After %q", what, resp.Header.Get("Retry-After"))
			return "", 0
		}
		return "", time.Duration(min(secs, 10)) * time.Second
	}
	if c.edge == 0 || resp.StatusCode != http.StatusOK {
		return "", 0
	}
	if reason := resp.Header.Get("X-Avatar-Fallback"); c.fallbacks != nil && !slices.Contains(c.fallbacks, reason) {
		st.fail("bomb-not-refused", "%s: X-Avatar-Fallback %q, want one of %v", what, reason, c.fallbacks)
	}
	ct := resp.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "image/") {
		st.fail("not-an-image", "%s with Content-Type %q", what, ct)
		return "", 0
	}
	if c.method == http.MethodGet {
		w, h, err := dimensions(ct, body)
		switch {
		case err != nil:
			st.fail("undecodable-image", "%s: %s: %v", what, ct, err)
		case w != c.edge || h != c.edge:
			st.fail("wrong-size", "%s: %s of %dx%d, want %dx%d", what, ct, w, h, c.edge, c.edge)
		}
	}
	return resp.Header.Get("ETag"), 0
}

func truncate(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}

// dimensions reads an image's width and height: AVIF from its image
// spatial extents property, the rest through the image decoders.
func dimensions(contentType string, body []byte) (int, int, error) {
	if contentType == "image/avif" {
		i := bytes.Index(body, []byte("ispe"))
		if i < 0 || len(body) < i+16 {
			return 0, 0, errors.New("no ispe box")
		}
		// ispe: version and flags, then width and height.
		return int(binary.BigEndian.Uint32(body[i+8:])), int(binary.BigEndian.Uint32(body[i+12:])), nil
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	if "image/"+format != contentType {
		return 0, 0, fmt.Errorf("the body is %s", format)
	}
	return cfg.Width, cfg.Height, nil
}
