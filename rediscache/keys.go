package rediscache

import (
	"crypto/sha256"
	"encoding/base64"
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

// userTag is the hash-tag part of a user's keys: 128 bits of SHA-256 of
// the user, so a key's length is bounded whatever the user id.
type userTag string

func tagOf(user string) userTag {
	sum := sha256.Sum256([]byte(user))
	return userTag(base64.RawURLEncoding.EncodeToString(sum[:16]))
}

func (t userTag) key(kind string) string { return keyPrefix + string(t) + "}:" + kind }

func (t userTag) generationKey() string { return t.key("gen") }

func (t userTag) entryKey(name string) string {
	if len(name) > maxNameLen {
		sum := sha256.Sum256([]byte(name))
		name = "h:" + base64.RawURLEncoding.EncodeToString(sum[:18])
	}
	return t.key("e:" + name)
}
