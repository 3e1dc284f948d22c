package config

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Toggle is a setting that is on, off, or decided by Parapet (auto). In
// YAML it is true, false or auto; in the environment any of Go's boolean
// spellings (1, t, TRUE...) or auto.
type Toggle string

// The values of a Toggle.
const (
	Auto Toggle = "auto"
	On   Toggle = "true"
	Off  Toggle = "false"
)

// UnmarshalYAML accepts true, false and auto.
func (t *Toggle) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: must be true, false or auto", n.Line)
	}
	*t = Toggle(n.Value) // checked (and normalised) by Validate
	return nil
}

// MarshalYAML writes true and false as booleans.
func (t Toggle) MarshalYAML() (any, error) {
	switch t {
	case On:
		return true, nil
	case Off:
		return false, nil
	}
	return string(t), nil
}

// parse returns the canonical value, or false if t is not one.
func (t Toggle) parse() (Toggle, bool) {
	v := strings.TrimSpace(string(t))
	if strings.EqualFold(v, "auto") {
		return Auto, true
	}
	if b, err := strconv.ParseBool(v); err == nil {
		if b {
			return On, true
		}
		return Off, true
	}
	return t, false
}
