package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"go.yaml.in/yaml/v3"
)

// ParseSize reads a byte count: a plain integer or a number with a decimal
// (10MB) or binary (256MiB) unit.
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("invalid size %q: must not be negative", s)
	}
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: want a byte count like 256MiB, 10MB or 1048576", s)
	}
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(n), nil
}

// String formats s with a binary unit, as in "256 MiB".
func (s Size) String() string {
	if s < 0 {
		return strconv.FormatInt(int64(s), 10) + " B"
	}
	return humanize.IBytes(uint64(s))
}

// UnmarshalText implements encoding.TextUnmarshaler for environment overrides.
func (s *Size) UnmarshalText(text []byte) error { return parseInto(s, string(text), ParseSize) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	return parseScalar(s, n, "a size", ParseSize)
}

// ParseDuration reads a non-negative duration in time.ParseDuration form.
func ParseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a duration like 90s, 5m or 1h30m", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return Duration(d), nil
}

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText implements encoding.TextUnmarshaler for environment overrides.
func (d *Duration) UnmarshalText(text []byte) error { return parseInto(d, string(text), ParseDuration) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	return parseScalar(d, n, "a duration", ParseDuration)
}

// parseInto sets *dst to parse(s), leaving it alone when s does not parse.
func parseInto[T any](dst *T, s string, parse func(string) (T, error)) error {
	v, err := parse(s)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// parseScalar sets *dst from a YAML scalar read by parse; want names what
// the key takes, for the error a mapping or sequence gets.
func parseScalar[T any](dst *T, n *yaml.Node, want string, parse func(string) (T, error)) error {
	if n.Kind != yaml.ScalarNode {
		return scalarError(n, want)
	}
	if err := parseInto(dst, n.Value, parse); err != nil {
		return lineError(n, err)
	}
	return nil
}

// lineError reports err in the form of yaml/v3's own decoding errors, so the
// decoder carries on and collects every bad value instead of stopping. The
// column, which yaml/v3's messages lack, lets locate name the key even when
// one line holds several.
func lineError(n *yaml.Node, err error) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d, column %d: %v", n.Line, n.Column, err)}}
}

func scalarError(n *yaml.Node, want string) error {
	return lineError(n, fmt.Errorf("want %s, not a %s", want, nodeKindName(n.Kind)))
}

func nodeKindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	}
	return "non-scalar"
}
