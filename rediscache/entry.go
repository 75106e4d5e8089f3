package rediscache

import (
	"encoding/binary"
	"errors"
	"time"
)

// Entry is a cached value as Redis holds it: what an in-memory entry of
// either tier carries, an original as fetched or a rendered variant.
type Entry struct {
	Body        []byte
	ContentType string
	ETag        string // the ETag sent to clients (variants)
	Source      string // the content hash of the original (of the one rendered, for variants)
	// Validators the upstream gave, for conditional revalidation.
	UpstreamETag string
	LastModified string
	// StaleReason, when set, says why the entry is a copy served past its
	// freshness because the upstream failed.
	StaleReason string
	Expires     time.Time
	State       State
}

// State flags what an entry stands for besides its bytes.
type State uint8

const (
	// NotFound: the upstream has no avatar for the user.
	NotFound State = 1 << iota
	// Negative: a default image served because the user has no avatar.
	Negative
	// NoAvatar404: the request asked for a 404 rather than a default.
	NoAvatar404
	// Stale: rendered from a copy the upstream could not refresh.
	Stale
)

// encodingVersion leads every encoded entry, so that a format change reads
// old values as misses rather than as garbage.
const encodingVersion = 1

var errBadEntry = errors.New("rediscache: malformed entry")

// MarshalBinary encodes e compactly: a version byte, the state, the expiry
// as a varint of Unix nanoseconds, length-prefixed strings, then the body.
func (e *Entry) MarshalBinary() ([]byte, error) {
	strs := [...]string{e.ContentType, e.ETag, e.Source, e.UpstreamETag, e.LastModified, e.StaleReason}
	n := 2 + binary.MaxVarintLen64 + len(strs)*binary.MaxVarintLen32 + len(e.Body)
	for _, s := range strs {
		n += len(s)
	}
	b := make([]byte, 0, n)
	b = append(b, encodingVersion, byte(e.State))
	var expires int64
	if !e.Expires.IsZero() {
		expires = e.Expires.UnixNano()
	}
	b = binary.AppendVarint(b, expires)
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, e.Body...), nil
}

// UnmarshalBinary decodes what MarshalBinary encoded. Any other input is
// an error, never a panic.
func (e *Entry) UnmarshalBinary(b []byte) error {
	if len(b) < 2 || b[0] != encodingVersion {
		return errBadEntry
	}
	*e = Entry{State: State(b[1])}
	b = b[2:]
	expires, n := binary.Varint(b)
	if n <= 0 {
		return errBadEntry
	}
	b = b[n:]
	if expires != 0 {
		e.Expires = time.Unix(0, expires)
	}
	for _, s := range [...]*string{&e.ContentType, &e.ETag, &e.Source, &e.UpstreamETag, &e.LastModified, &e.StaleReason} {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return errBadEntry
		}
		*s = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	if len(b) > 0 {
		e.Body = b
	}
	return nil
}
