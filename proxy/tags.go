package proxy

import (
	"crypto/sha256"
	"encoding/hex"
)

// purgeTag is the CDN purge tag of a user, safe for every CDN: the id kept
// as it is when it is already short and made of [a-z0-9-], else hashed.
func purgeTag(upstream, userID string) string {
	return "avatar-" + upstream + "-" + tagSafe(userID)
}

func tagSafe(id string) string {
	ok := id != "" && len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if ok {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}
