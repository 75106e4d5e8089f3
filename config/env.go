package config

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// EnvPrefix starts the name of every environment override.
const EnvPrefix = "AVATARPROXY_"

// envKey is one key that an environment variable can override.
type envKey struct {
	path string // YAML key path, for messages
	set  func(value string) error
}

// applyEnv applies every AVATARPROXY_ variable of env to cfg and returns
// the problems: variables that match no key or several, values that do not
// parse, and keys set by two variables.
func applyEnv(cfg *Config, env map[string]string) []string {
	keys := make(map[string][]envKey)
	collectEnvKeys(reflect.ValueOf(cfg).Elem(), strings.TrimSuffix(EnvPrefix, "_"), "", keys)

	var names []string
	for name := range env {
		if strings.HasPrefix(name, EnvPrefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)

	var problems []string
	setBy := make(map[string]string) // key path -> variable that set it
	for _, name := range names {
		matches := keys[name]
		switch len(matches) {
		case 0:
			problems = append(problems, fmt.Sprintf("%s: matches no configuration key", name))
			continue
		case 1:
		default:
			var paths []string
			for _, k := range matches {
				paths = append(paths, k.path)
			}
			problems = append(problems, fmt.Sprintf("%s: ambiguous, matches %s", name, strings.Join(paths, " and ")))
			continue
		}
		k := matches[0]
		if other, ok := setBy[k.path]; ok {
			problems = append(problems, fmt.Sprintf("%s: set by both %s and %s", k.path, other, name))
			continue
		}
		setBy[k.path] = name
		if err := k.set(env[name]); err != nil {
			problems = append(problems, fmt.Sprintf("%s (%s): %v", k.path, name, err))
		}
	}
	return problems
}

// collectEnvKeys records under keys the variable name of every key reachable
// from v, walking the yaml tags. Elements of a list of mappings are reached
// by index and, when they have a name key, by that name too; entries of a
// string map by their existing keys.
func collectEnvKeys(v reflect.Value, name, path string, keys map[string][]envKey) {
	add := func(name, path string, set func(string) error) {
		for _, k := range keys[name] {
			if k.path == path {
				return // an element reached by both index and name
			}
		}
		keys[name] = append(keys[name], envKey{path, set})
	}
	t := v.Type()
	switch {
	case isScalar(t):
		add(name, path, func(s string) error { return setScalar(v, s) })
	case t.Kind() == reflect.Slice && isScalar(t.Elem()):
		add(name, path, func(s string) error { return setList(v, s) })
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			tag := yamlKey(t.Field(i))
			if tag == "" {
				continue
			}
			collectEnvKeys(v.Field(i), name+"_"+envWord(tag), joinPath(path, tag), keys)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		for i := range v.Len() {
			elem := v.Index(i)
			elemPath := fmt.Sprintf("%s[%d]", path, i)
			collectEnvKeys(elem, name+"_"+strconv.Itoa(i), elemPath, keys)
			if id := elementName(elem); id != "" {
				collectEnvKeys(elem, name+"_"+envWord(id), elemPath, keys)
			}
		}
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String:
		for _, k := range v.MapKeys() {
			add(name+"_"+envWord(k.String()), joinPath(path, k.String()), func(s string) error {
				v.SetMapIndex(k, reflect.ValueOf(s).Convert(t.Elem()))
				return nil
			})
		}
	}
}

// yamlKey returns the YAML key of a struct field, or "" when it has none.
func yamlKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if key == "-" || !f.IsExported() {
		return ""
	}
	return key
}

// elementName returns the value of the element's name key, if it has one.
func elementName(v reflect.Value) string {
	t := v.Type()
	for i := range t.NumField() {
		if yamlKey(t.Field(i)) == "name" && v.Field(i).Kind() == reflect.String {
			return v.Field(i).String()
		}
	}
	return ""
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// envWord upper-cases s and turns everything but letters and digits into _.
func envWord(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
			return r
		}
		return '_'
	}, s)
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

func isScalar(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

// setScalar parses s into v, which isScalar accepts.
func setScalar(v reflect.Value, s string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("invalid boolean %q", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		v.SetInt(n)
	}
	return nil
}

// setList sets v, a slice of scalars, from a comma-separated list; an empty
// string is an empty list.
func setList(v reflect.Value, s string) error {
	var items []string
	if strings.TrimSpace(s) != "" {
		items = strings.Split(s, ",")
	}
	list := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, item := range items {
		if err := setScalar(list.Index(i), strings.TrimSpace(item)); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	v.Set(list)
	return nil
}
