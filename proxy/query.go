package proxy

import (
	"net/url"
	"strings"
)

// This file reads the avatar faces' query strings without building a map:
// every parameter the proxy knows has a fixed slot, so a request that is
// already unescaped allocates nothing.

// param is a query parameter the avatar faces read.
type param uint8

const (
	paramSize param = iota
	paramDPR
	paramFormat
	paramDefault
	paramCrop
	paramSig
	paramV
	paramTimestamp
	paramHash
	// Gravatar's: s is size; r (rating), f and forcedefault are read and
	// ignored.
	paramGravatarSize
	paramRating
	paramForceDefault
	paramForceDefaultLong
	paramCount
)

var paramNames = [paramCount]string{
	paramSize: "size", paramDPR: "dpr", paramFormat: "format", paramDefault: "d", paramCrop: "crop",
	paramSig: "sig", paramV: "v", paramTimestamp: "timestamp", paramHash: "hash",
	paramGravatarSize: "s", paramRating: "r", paramForceDefault: "f", paramForceDefaultLong: "forcedefault",
}

// paramSet is a set of params, one bit each.
type paramSet uint16

func paramsOf(ps ...param) paramSet {
	var s paramSet
	for _, p := range ps {
		s |= 1 << p
	}
	return s
}

func (s paramSet) has(p param) bool { return s&(1<<p) != 0 }

// Query parameters of the avatar face; anything else is refused so that a
// typo does not silently serve the default. s, r, f and forcedefault are
// Gravatar's, so that applications built for Gravatar work unchanged.
var avatarParams = paramsOf(paramSize, paramDPR, paramFormat, paramDefault, paramCrop, paramSig,
	paramV, paramTimestamp, paramHash, paramGravatarSize, paramRating, paramForceDefault, paramForceDefaultLong)

// The drop-in takes ActiveCollab's URLs as they are, whatever else they carry.
var dropinParams = paramsOf(paramSize, paramTimestamp)

// queryValues holds the value of each param of allowed that the query gave.
type queryValues [paramCount]string

// lookupParam returns the param named name, if the proxy knows it.
func lookupParam(name string) (param, bool) {
	for p, n := range paramNames {
		if n == name {
			return param(p), true
		}
	}
	return 0, false
}

// parseQuery reads raw as url.ParseQuery would, keeping the params of
// allowed. A malformed query is refused first; then a param of allowed
// given twice, and, when strict, the first parameter not in allowed, are
// refused by name.
func parseQuery(raw string, allowed paramSet, strict bool) (queryValues, error) {
	var (
		q       queryValues
		seen    paramSet
		problem error
	)
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if strings.Contains(pair, ";") {
			return q, errMalformedQuery
		}
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, ok := unescapeQuery(rawName)
		value, ok2 := unescapeQuery(rawValue)
		if !ok || !ok2 {
			return q, errMalformedQuery
		}
		if problem != nil {
			continue // keep reading: a malformed query wins
		}
		p, known := lookupParam(name)
		switch {
		case !known || !allowed.has(p):
			if strict {
				problem = badRequest("%s: unknown parameter", safeName(name))
			}
		case seen.has(p):
			problem = badRequest("%s: given more than once", name)
		default:
			seen |= 1 << p
			q[p] = value
		}
	}
	return q, problem
}

var errMalformedQuery = badRequest("query: malformed escape or separator")

// unescapeQuery undoes a query component's escaping; it allocates only
// when there is something to undo.
func unescapeQuery(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}
