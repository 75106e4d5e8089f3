package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/avatarproxy/avatarproxy/netguard"
)

// Default returns the documented defaults of every key, with no upstreams.
func Default() *Config {
	return &Config{
		Listen:                 ":8080",
		DefaultAvatar:          "identicon",
		ShutdownTimeout:        Duration(15 * time.Second),
		MaxConnections:         1024,
		BodyTimeout:            Duration(10 * time.Second),
		PassthroughBodyTimeout: Duration(5 * time.Minute),
		Cache: Cache{
			MaxBytes:    256 << 20,
			TTL:         Duration(time.Hour),
			NegativeTTL: Duration(time.Minute),
			BrowserTTL:  Duration(5 * time.Minute),

			VersionInterval: Duration(10 * time.Second),
			// Values above a mebibyte are rare sources; they stay in memory.
			RedisMaxValueBytes: 1 << 20,
			RedisTimeout:       Duration(50 * time.Millisecond),
		},
		Resize: Resize{
			DefaultSize:     80,
			MaxSize:         1024,
			Formats:         []string{"webp", "avif"},
			Quality:         80,
			AVIFQuality:     63,
			MaxSourceBytes:  10 << 20,
			MaxSourcePixels: 40_000_000,
			// 40 MP of 8-bit RGBA; a 16-bit source gets half the pixels.
			MaxSourceDecodedBytes: 160_000_000,
			QueueBytes:            256 << 20,
		},
		HTTP: HTTP{
			PurgeTagHeaders: []string{"Surrogate-Key", "Cache-Tag"},
			DenyNetworks:    slices.Clone(netguard.DefaultDeny),
		},
		Log: Log{Format: "json", Level: "info"},
	}
}

// Load reads the YAML file at path and returns the configuration it
// describes; see Parse.
func Load(path string, environ []string, kinds Kinds) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, environ, kinds)
}

// Parse builds a configuration from a YAML document and an environment in
// os.Environ form. It expands ${NAME} from environ, decodes the result over
// Default, applies the AVATARPROXY_ overrides and validates, each upstream
// against the schema of its kind in kinds. Whatever is
// wrong with the input comes back as a *ValidationError listing every
// problem: values that do not decode, bad overrides and the rules the
// decoded values break. Only a document that is not YAML at all stops
// there, as nothing of it can be read.
func Parse(data []byte, environ []string, kinds Kinds) (*Config, error) {
	env := envMap(environ)
	text, problems := expand(string(data), env)

	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if !strings.HasPrefix(msg, "line ") {
			msg = "line 1: " + msg // yaml/v3 leaves out the number of the first line
		}
		problems = append(problems, msg)
		return nil, &ValidationError{Problems: problems}
	}
	// Name the key of each expansion problem, now that the lines' keys are
	// known.
	keys := keysByLine(&doc)
	for i, p := range problems {
		problems[i] = locate(p, keys)
	}
	cfg := Default()
	problems = append(problems, decode(text, keys, cfg)...)
	problems = append(problems, applyEnv(cfg, env)...)
	if err := cfg.Validate(kinds); err != nil {
		var verr *ValidationError
		if !errors.As(err, &verr) {
			return nil, err
		}
		problems = append(problems, withoutKeys(verr.Problems, problemKeys(problems))...)
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return cfg, nil
}

// labelled matches the name Validate adds to a list element's index, as in
// upstreams[1] (box).
var labelled = regexp.MustCompile(`\[(\d+)\] \([^)]*\)`)

// problemKey is the key path a problem leads with, without the element's
// name or the variable that set it; empty when it names none.
func problemKey(problem string) string {
	key, _, ok := strings.Cut(labelled.ReplaceAllString(problem, "[$1]"), ": ")
	if !ok || strings.HasPrefix(key, "line ") {
		return ""
	}
	key, _, _ = strings.Cut(key, " (")
	return key
}

func problemKeys(problems []string) map[string]bool {
	keys := make(map[string]bool, len(problems))
	for _, p := range problems {
		if k := problemKey(p); k != "" {
			keys[k] = true
		}
	}
	return keys
}

// withoutKeys drops the problems about keys already reported: a value that
// did not decode keeps its default, and what Validate says of the default
// would only be noise.
func withoutKeys(problems []string, reported map[string]bool) []string {
	var kept []string
	for _, p := range problems {
		if !reported[problemKey(p)] {
			kept = append(kept, p)
		}
	}
	return kept
}

// envMap turns os.Environ form into a map; a later entry wins, as in exec.
func envMap(environ []string) map[string]string {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${NAME} with the variable's value and $$ with $. Any other
// $ is kept, unlike os.Expand, so that a secret or pattern that happens to
// contain $word survives intact.
func expand(text string, env map[string]string) (string, []string) {
	var b strings.Builder
	var problems []string
	line := 1
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\n' {
			line++
		}
		if c != '$' || i+1 == len(text) {
			b.WriteByte(c)
			continue
		}
		switch text[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			rest := text[i+2:]
			end := strings.IndexAny(rest, "}\n")
			if end < 0 || rest[end] == '\n' {
				problems = append(problems, fmt.Sprintf("line %d: unterminated ${ (write $$ for a literal $)", line))
				b.WriteByte(c)
				continue
			}
			name := rest[:end]
			i += 2 + end
			value, ok := env[name]
			switch {
			case !envName.MatchString(name):
				problems = append(problems, fmt.Sprintf("line %d: ${%s}: not a valid environment variable name", line, name))
			case !ok:
				problems = append(problems, fmt.Sprintf("line %d: ${%s}: environment variable %s is not set", line, name, name))
			}
			b.WriteString(value)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), problems
}

var (
	lineMessage  = regexp.MustCompile(`^line (\d+)(?:, column (\d+))?: (.*)$`)
	quotedValue  = regexp.MustCompile("`([^`]*)`")
	unknownField = regexp.MustCompile(`^field (.+) not found in type \S+$`)
)

// decode decodes text onto cfg, rejecting unknown keys. yaml/v3 reports
// problems by line only; keys, the keys of the same text by line, let each
// problem name its key path too.
func decode(text string, keys map[int][]keyAt, cfg *Config) []string {
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err == nil {
		var extra yaml.Node
		if dec.Decode(&extra) == nil {
			return []string{fmt.Sprintf("line %d: a second YAML document; the configuration is a single document", extra.Line)}
		}
		return nil
	}
	var typeErr *yaml.TypeError
	if !errors.As(err, &typeErr) {
		return []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	problems := make([]string, 0, len(typeErr.Errors))
	for _, msg := range typeErr.Errors {
		problems = append(problems, locate(msg, keys))
	}
	return problems
}

// keyAt is a mapping key of the document and the path that leads to it.
type keyAt struct {
	name, path string
	leaf       bool       // its value is not a mapping: a problem on its line is about it
	value      *yaml.Node // the key's value
}

func keysByLine(doc *yaml.Node) map[int][]keyAt {
	keys := make(map[int][]keyAt)
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				keys[k.Line] = append(keys[k.Line], keyAt{k.Value, p, v.Kind != yaml.MappingNode, v})
				walk(v, p)
			}
		}
	}
	walk(doc, "")
	return keys
}

// locate rewrites one of yaml/v3's "line N: ..." messages to lead with the
// key path. The line alone identifies the key when it holds one; otherwise
// the column of the value (from lineError) or the value the message quotes
// tells the keys of a flow mapping apart.
func locate(msg string, keys map[int][]keyAt) string {
	m := lineMessage.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	column, _ := strconv.Atoi(m[2])
	detail := m[3]
	var found []keyAt
	if u := unknownField.FindStringSubmatch(detail); u != nil {
		detail = "unknown key"
		for _, k := range keys[line] {
			if k.name == u[1] {
				found = append(found, k)
			}
		}
		if len(found) != 1 {
			return fmt.Sprintf("line %d: %s: unknown key", line, u[1])
		}
	} else {
		for _, k := range keys[line] {
			if k.leaf && (column == 0 || k.value.Column == column) {
				found = append(found, k)
			}
		}
		if q := quotedValue.FindStringSubmatch(detail); len(found) > 1 && q != nil {
			found = slices.DeleteFunc(found, func(k keyAt) bool { return !quotes(q[1], k.value) })
		}
	}
	if len(found) != 1 {
		return fmt.Sprintf("line %d: %s", line, detail)
	}
	return fmt.Sprintf("%s: %s (line %d)", found[0].path, detail, line)
}

// quotes reports whether quoted, as yaml/v3 quotes a value in a message
// (cut to seven characters and "..." when long), is n's value.
func quotes(quoted string, n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if start, cut := strings.CutSuffix(quoted, "..."); cut && len(n.Value) > 10 {
		return strings.HasPrefix(n.Value, start)
	}
	return n.Value == quoted
}
