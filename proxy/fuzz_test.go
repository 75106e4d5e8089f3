package proxy

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/resize"
)

// FuzzParseAvatar feeds arbitrary queries and headers to the avatar
// request parser: it must never panic, and it must either refuse the
// request with a one-line 4xx or produce a request within every limit.
func FuzzParseAvatar(f *testing.F) {
	for _, seed := range []struct{ query, accept string }{
		{"size=64", "image/avif,image/webp,*/*"},
		{"size=--SIZE--&dpr=2&format=auto", "image/webp"},
		{"size=1025&dpr=3", ""},
		{"v=abc&sig=AAAA&d=initials&crop=attention", "*/*;q=0.5"},
		{"size=%zz", "image/avif;q=0"},
		{"timestamp=1&hash=1&v=1", "image/avif;q=abc"},
		{"size=99999999999999999999&format=jpg", ""},
	} {
		f.Add(seed.query, seed.accept)
	}
	cfg := config.Default()
	cfg.Resize.MaxSize = 512
	cfg.Resize.Sizes = []int{16, 32, 64, 128}
	s := &Server{cfg: cfg, signer: newSigner(config.Security{SigningKey: "fuzz-key-0123456789"})}
	f.Fuzz(func(t *testing.T, query, accept string) {
		req, err := parseFuzzed(s, query, accept)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.status < 400 || re.status > 499 {
				t.Fatalf("query %q: error %v is not a client error", query, err)
			}
			if strings.ContainsAny(re.msg, "\r\n") {
				t.Fatalf("query %q: message %q is not one line", query, re.msg)
			}
			return
		}
		// Without a valid signature nothing gets through.
		t.Fatalf("query %q accepted without a valid signature: %+v", query, req)
	})
}

// FuzzParseAvatarUnsigned checks the limits of accepted requests.
func FuzzParseAvatarUnsigned(f *testing.F) {
	for _, q := range []string{"size=64", "size=7&dpr=3&format=webp", "d=404", "format=auto", "size=--SIZE--"} {
		f.Add(q, "image/avif,image/webp")
	}
	cfg := config.Default()
	cfg.Resize.MaxSize = 512
	s := &Server{cfg: cfg}
	f.Fuzz(func(t *testing.T, query, accept string) {
		req, err := parseFuzzed(s, query, accept)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.status != 400 {
				t.Fatalf("query %q: %v", query, err)
			}
			return
		}
		if req.edge < 1 || req.edge > cfg.Resize.MaxSize {
			t.Fatalf("query %q: edge %d outside 1..%d", query, req.edge, cfg.Resize.MaxSize)
		}
		switch req.format {
		case "", resize.JPEG, resize.PNG, resize.WebP, resize.AVIF:
		default:
			t.Fatalf("query %q: format %q", query, req.format)
		}
		if !validDefault(req.whenMissing) || len(req.version) > maxVersionLen || !isToken(req.version) {
			t.Fatalf("query %q: accepted %+v", query, req)
		}
	})
}

// parseFuzzed parses an avatar request of upstream "local", user "u".
func parseFuzzed(s *Server, query, accept string) (avatarRequest, error) {
	r := httptest.NewRequest("GET", "/avatar/local/u", nil)
	r.URL.RawQuery = query
	r.Header.Set("Accept", accept)
	return s.parseAvatar(r, &provider{name: "local"}, "u", avatarParams, true)
}
