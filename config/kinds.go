package config

import (
	"fmt"
	"maps"
	"slices"
)

// KeyRule is how an upstream kind takes one of the kind-specific keys.
type KeyRule struct {
	Required bool
	// Check, when set, inspects a value that is set, after the generic
	// checks of the key; its error becomes the key's problem.
	Check func(value string) error
}

// KindRules is the configuration schema of one upstream kind: the
// kind-specific keys it takes. Setting a key it does not list is a problem.
type KindRules struct {
	Keys map[string]KeyRule
	// Check, when set, weighs an upstream's keys together, after each was
	// checked on its own: keys that stand in for each other, exclude or
	// need each other. Each problem names its key.
	Check func(u Upstream) []KeyProblem
}

// KeyProblem is what is wrong with one key of an upstream. Its text names
// keys, never values, which may be secrets.
type KeyProblem struct {
	Key, Problem string
}

// Kind is one upstream kind's name and schema, as NewKinds takes them.
type Kind struct {
	Name  string
	Rules KindRules
}

// Kinds is the schema of every upstream kind, which Validate checks
// upstreams against. Build it with NewKinds; it does not change afterwards.
type Kinds struct {
	names []string // in the order messages list them
	rules map[string]KindRules
}

// NewKinds returns the schema of the given kinds, in that order. Like
// regexp.MustCompile it is meant for tables written in code: it panics on
// a kind declared twice or a key that is not one of an upstream's
// kind-specific keys.
func NewKinds(kinds ...Kind) Kinds {
	known := kindSpecificKeys()
	k := Kinds{rules: make(map[string]KindRules, len(kinds))}
	for _, kind := range kinds {
		if _, dup := k.rules[kind.Name]; dup || kind.Name == "" {
			panic(fmt.Sprintf("config: upstream kind %q declared twice or unnamed", kind.Name))
		}
		for key := range kind.Rules.Keys {
			if !slices.Contains(known, key) {
				panic(fmt.Sprintf("config: upstream kind %s declares %q, which is no upstream key", kind.Name, key))
			}
		}
		k.names = append(k.names, kind.Name)
		k.rules[kind.Name] = KindRules{Keys: maps.Clone(kind.Rules.Keys), Check: kind.Rules.Check}
	}
	return k
}

// Names returns the kinds in their declared order.
func (k Kinds) Names() []string { return slices.Clone(k.names) }

// Takes reports whether an upstream of the kind takes the key.
func (k Kinds) Takes(kind, key string) bool {
	_, ok := k.rules[kind].Keys[key]
	return ok
}

// rule returns how the kind takes the key, and whether it does.
func (k Kinds) rule(kind, key string) (KeyRule, bool) {
	r, ok := k.rules[kind].Keys[key]
	return r, ok
}

// kindSpecificKeys are the upstream keys whose use depends on the kind;
// name and kind apply to every upstream.
func kindSpecificKeys() []string {
	var keys []string
	for _, f := range (Upstream{}).kindKeys() {
		keys = append(keys, f.key)
	}
	return keys
}
