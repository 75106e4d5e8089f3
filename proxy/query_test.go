package proxy

import (
	"net/url"
	"testing"
)

// referenceQuery is what the avatar face made of a query with
// url.ParseQuery: the values of allowed params, and whether it was
// refused (the name an error gives depends on map order there).
func referenceQuery(raw string, allowed paramSet, strict bool) (queryValues, bool) {
	var q queryValues
	m, err := url.ParseQuery(raw)
	if err != nil {
		return q, true
	}
	for name, vals := range m {
		p, known := lookupParam(name)
		if !known || !allowed.has(p) {
			if strict {
				return q, true
			}
			continue
		}
		if len(vals) > 1 {
			return q, true
		}
		q[p] = vals[0]
	}
	return q, false
}

// parseQuery refuses and accepts exactly what url.ParseQuery and the
// face's rules did, with the same values.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"", "size=64", "size=64&format=webp&d=mp", "size=1&size=2", "nope=1", "size=%zz", "a;b=1",
		"format=a%2Bb+c", "&&size=3&", "=x", "sig=abc%3D", "size", "v=1&timestamp=1&hash=1", "%73ize=9",
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, raw string, strict bool) {
		for _, allowed := range []paramSet{avatarParams, dropinParams} {
			want, refused := referenceQuery(raw, allowed, strict)
			got, err := parseQuery(raw, allowed, strict)
			if (err != nil) != refused {
				t.Fatalf("parseQuery(%q, strict %v): error %v, want refused %v", raw, strict, err, refused)
			}
			if err == nil && got != want {
				t.Fatalf("parseQuery(%q): %q, want %q", raw, got, want)
			}
		}
	})
}

// The errors name what was wrong, as the README promises.
func TestParseQueryMessages(t *testing.T) {
	for raw, want := range map[string]string{
		"size=1&bogus=2":  `"bogus": unknown parameter`,
		"size=1&size=2":   "size: given more than once",
		"size=%zz":        "query: malformed escape or separator",
		"bogus=1&size=%z": "query: malformed escape or separator",
	} {
		_, err := parseQuery(raw, avatarParams, true)
		if err == nil || err.Error() != want {
			t.Errorf("parseQuery(%q) = %v, want %q", raw, err, want)
		}
	}
}

// accepts agrees with a reading by mime.ParseMediaType on what browsers
// and odd clients send.
func TestAccepts(t *testing.T) {
	for _, tc := range []struct {
		accept string
		want   bool
	}{
		{"image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", true},
		{"image/webp,*/*", false},
		{"*/*", false},
		{"image/*", false},
		{"IMAGE/AVIF", true},
		{"image/avif;q=0", false},
		{"image/avif; q=0.5", true},
		{`image/avif;q="0.5"`, true},
		{"image/avif;q=abc", false},
		{"image/avif;broken", false},
		{"image/avif;level=1;q=0.1", true},
		{" image/avif ", true},
	} {
		if got := accepts([]string{tc.accept}, "image/avif"); got != tc.want {
			t.Errorf("accepts(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}
