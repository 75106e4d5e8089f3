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
	// Tokens are the version tokens confirmed for an original, and
	// Checked when a version token last asked the upstream about it.
	Tokens  []string
	Checked time.Time
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
// and the check time as varints of Unix nanoseconds, length-prefixed
// strings, the count of tokens and each length-prefixed, then the body.
func (e *Entry) MarshalBinary() ([]byte, error) {
	strs := [...]string{e.ContentType, e.ETag, e.Source, e.UpstreamETag, e.LastModified, e.StaleReason}
	n := 2 + 3*binary.MaxVarintLen64 + (len(strs)+len(e.Tokens))*binary.MaxVarintLen32 + len(e.Body)
	for _, s := range strs {
		n += len(s)
	}
	for _, s := range e.Tokens {
		n += len(s)
	}
	b := make([]byte, 0, n)
	b = append(b, encodingVersion, byte(e.State))
	b = binary.AppendVarint(b, unixNano(e.Expires))
	b = binary.AppendVarint(b, unixNano(e.Checked))
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Tokens)))
	for _, s := range e.Tokens {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, e.Body...), nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// UnmarshalBinary decodes what MarshalBinary encoded. Any other input is
// an error, never a panic.
func (e *Entry) UnmarshalBinary(b []byte) error {
	if len(b) < 2 || b[0] != encodingVersion {
		return errBadEntry
	}
	*e = Entry{State: State(b[1])}
	b = b[2:]
	for _, t := range [...]*time.Time{&e.Expires, &e.Checked} {
		v, n := binary.Varint(b)
		if n <= 0 {
			return errBadEntry
		}
		*t = fromUnixNano(v)
		b = b[n:]
	}
	for _, s := range [...]*string{&e.ContentType, &e.ETag, &e.Source, &e.UpstreamETag, &e.LastModified, &e.StaleReason} {
		if b = readString(b, s); b == nil {
			return errBadEntry
		}
	}
	count, n := binary.Uvarint(b)
	// Each token takes a byte at least: a count beyond that is corrupt.
	if n <= 0 || count > uint64(len(b)-n) {
		return errBadEntry
	}
	b = b[n:]
	if count > 0 {
		e.Tokens = make([]string, count)
	}
	for i := range e.Tokens {
		if b = readString(b, &e.Tokens[i]); b == nil {
			return errBadEntry
		}
	}
	if len(b) > 0 {
		e.Body = b
	}
	return nil
}

// readString reads a length-prefixed string into s and returns the rest of
// b, or nil when b is malformed.
func readString(b []byte, s *string) []byte {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return nil
	}
	*s = string(b[n : n+int(l)])
	return b[n+int(l):]
}
