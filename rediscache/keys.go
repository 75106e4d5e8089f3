package rediscache

import (
	"crypto/sha256"
	"encoding/base64"
	"unsafe"
)

// Every key starts with keyPrefix and carries the user's hash tag in
// braces, so that all of a user's keys live in one Redis Cluster slot while
// users spread over the cluster.
const (
	keyPrefix = "avatarproxy:{"
	// fanoutChannel carries the tags of users whose generation moved.
	fanoutChannel = "avatarproxy:generations"
	// maxNameLen bounds the readable part of an entry key; longer names
	// are hashed.
	maxNameLen = 128
)

// userSum is 128 bits of SHA-256 of a user: what replicas key the user's
// state by in memory, fixed in size whatever the user id.
type userSum [16]byte

func sumOf(user string) userSum {
	// Hashing reads the bytes only, so the user's own serve: a copy would
	// cost an allocation on every lookup of an id longer than 32 bytes.
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(user), len(user)))
	return userSum(sum[:16])
}

// tag is the sum as it appears in keys and fan-out messages.
func (s userSum) tag() userTag { return userTag(base64.RawURLEncoding.EncodeToString(s[:])) }

// sumOfTag decodes a tag back to its sum; ok is false for anything that
// is not a tag.
func sumOfTag(t string) (s userSum, ok bool) {
	if len(t) != base64.RawURLEncoding.EncodedLen(len(s)) {
		return s, false
	}
	n, err := base64.RawURLEncoding.Decode(s[:], []byte(t))
	return s, err == nil && n == len(s)
}

// userTag is the hash-tag part of a user's keys: the user's sum in
// base64, so a key's length is bounded whatever the user id.
type userTag string

func tagOf(user string) userTag { return sumOf(user).tag() }

func (t userTag) key(kind string) string { return keyPrefix + string(t) + "}:" + kind }

func (t userTag) generationKey() string { return t.key("gen") }

func (t userTag) entryKey(name string) string {
	if len(name) > maxNameLen {
		sum := sha256.Sum256([]byte(name))
		name = "h:" + base64.RawURLEncoding.EncodeToString(sum[:18])
	}
	return t.key("e:" + name)
}
