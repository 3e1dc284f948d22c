package config

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ByteSize is a size in bytes that YAML and the environment may write as a
// plain number or with a unit: "512", "64KB", "10MiB", "1GB" (KB and KiB
// both mean 1024 bytes, as users of upload limits expect).
type ByteSize int64

// ParseByteSize parses a size such as "25MB".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			mult = u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (use bytes or a unit: 64KB, 10MB, 1GB)", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return ByteSize(n * mult), nil
}

// UnmarshalYAML accepts a number or a string with a unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a size such as 10MB", n.Line)
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// MarshalYAML writes the size in the largest exact unit.
func (b ByteSize) MarshalYAML() (any, error) {
	return b.String(), nil
}

// String writes the size in the largest exact unit ("25MB").
func (b ByteSize) String() string {
	switch {
	case b != 0 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGB", b>>30)
	case b != 0 && b%(1<<20) == 0:
		return fmt.Sprintf("%dMB", b>>20)
	case b != 0 && b%(1<<10) == 0:
		return fmt.Sprintf("%dKB", b>>10)
	}
	return strconv.FormatInt(int64(b), 10)
}
