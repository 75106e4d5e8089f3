package rediscache

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

func sampleEntry() *Entry {
	return &Entry{
		Body:         []byte("\x89PNG body bytes"),
		ContentType:  "image/png",
		ETag:         `"abc"`,
		Source:       "hash-of-original",
		UpstreamETag: `W/"up"`,
		LastModified: "Mon, 30 Nov 2026 10:00:00 GMT",
		StaleReason:  "status-502",
		Expires:      time.Unix(1800000000, 123456789),
		State:        Negative | Stale,
		Tokens:       []string{"v3", "v2"},
		Checked:      time.Unix(1800000001, 0),
	}
}

func TestEntryRoundTrip(t *testing.T) {
	for _, e := range []*Entry{sampleEntry(), {}, {State: NotFound, Expires: time.Unix(5, 0)}} {
		b, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Entry
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("decoding %+v: %v", e, err)
		}
		if !bytes.Equal(got.Body, e.Body) || got.ContentType != e.ContentType || got.ETag != e.ETag ||
			got.Source != e.Source || got.UpstreamETag != e.UpstreamETag || got.LastModified != e.LastModified ||
			got.StaleReason != e.StaleReason || !got.Expires.Equal(e.Expires) || got.State != e.State ||
			!slices.Equal(got.Tokens, e.Tokens) || !got.Checked.Equal(e.Checked) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, *e)
		}
	}
}

func TestEntryEncodingIsCompact(t *testing.T) {
	e := sampleEntry()
	b, _ := e.MarshalBinary()
	fields := len(e.Body) + len(e.ContentType) + len(e.ETag) + len(e.Source) + len(e.UpstreamETag) +
		len(e.LastModified) + len(e.StaleReason) + len(e.Tokens[0]) + len(e.Tokens[1])
	// Version, state, two 9-byte varints of times, one length byte per
	// string and token, and the token count.
	if overhead := len(b) - fields; overhead > 2+2*9+6+2+1 {
		t.Fatalf("encoding adds %d bytes to %d bytes of fields", overhead, fields)
	}
}

func TestEntryRejectsMalformed(t *testing.T) {
	good, _ := sampleEntry().MarshalBinary()
	// Every truncation before the body either fails or decodes a prefix;
	// none may panic. The header cut short must fail.
	for n := range len(good) {
		var e Entry
		err := e.UnmarshalBinary(good[:n])
		if n < 2+2*9 && err == nil {
			t.Fatalf("%d-byte prefix decoded", n)
		}
	}
	for _, bad := range [][]byte{nil, {2, 0, 0}, {encodingVersion, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		var e Entry
		if err := e.UnmarshalBinary(bad); err == nil {
			t.Fatalf("%x decoded", bad)
		}
	}
}

func FuzzEntry(f *testing.F) {
	good, _ := sampleEntry().MarshalBinary()
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entry
		if e.UnmarshalBinary(b) != nil {
			return
		}
		again, _ := e.MarshalBinary()
		var e2 Entry
		if err := e2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoding of a decoded entry does not decode: %v", err)
		}
	})
}
