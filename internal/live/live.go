// Package live holds the changes made to a running Parapet through the
// admin API that outlive a restart: rules added live, modes toggled on
// the file's rules, and under-attack mode switched on by hand. A State is
// applied on top of the loaded config before every build, so a live rule
// is validated and compiled by the same code as a rule in the file. It
// persists in a state file (memory store) or in Redis (shared by every
// instance).
package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parapet-waf/parapet/internal/config"
)

// Kinds of rules.
const (
	KindAccess    = "access"
	KindRateLimit = "rate_limit"
)

// Rule is one rule added live.
type Rule struct {
	// Kind is KindAccess or KindRateLimit.
	Kind string `json:"kind"`
	// Rule is the rule in the config file's schema, as JSON
	// (`{"id": "office", "action": "allow", "ips": ["203.0.113.0/24"]}`).
	Rule json.RawMessage `json:"rule"`
	// Actor made it; Created is when.
	Actor   string    `json:"actor"`
	Created time.Time `json:"created"`
}

// ID is the rule's id (empty if the rule does not decode).
func (r Rule) ID() string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(r.Rule, &v)
	return v.ID
}

// UnderAttack is under-attack mode switched on by hand.
type UnderAttack struct {
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
	Actor  string    `json:"actor"`
}

// State is every live change.
type State struct {
	// Rules are the live rules, in the order added.
	Rules []Rule `json:"rules,omitempty"`
	// Modes override the mode of the file's rules: "access/ID" or
	// "rate_limit/ID" -> enforce or monitor.
	Modes map[string]string `json:"modes,omitempty"`
	// UnderAttack is set while the mode is on by hand.
	UnderAttack *UnderAttack `json:"under_attack,omitempty"`
}

// Clone returns a deep copy.
func (s State) Clone() State {
	out := State{Rules: append([]Rule(nil), s.Rules...), Modes: map[string]string{}}
	for k, v := range s.Modes {
		out.Modes[k] = v
	}
	if s.UnderAttack != nil {
		ua := *s.UnderAttack
		out.UnderAttack = &ua
	}
	return out
}

// Encode renders the state as JSON (what Load reads).
func (s State) Encode() []byte {
	b, _ := json.MarshalIndent(s, "", "  ")
	return append(b, '\n')
}

// Decode reads a state Encode wrote.
func Decode(b []byte) (State, error) {
	var s State
	if len(bytes.TrimSpace(b)) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("live state: %w", err)
	}
	return s, nil
}

// DecodeAccess reads an access rule in the file's schema (JSON is YAML);
// an unknown field is refused by name.
func DecodeAccess(raw []byte) (config.Rule, error) {
	var r config.Rule
	return r, decodeStrict(raw, &r)
}

// DecodeRateLimit reads a rate-limit rule in the file's schema.
func DecodeRateLimit(raw []byte) (config.RateLimitRule, error) {
	var r config.RateLimitRule
	return r, decodeStrict(raw, &r)
}

func decodeStrict(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return &FieldError{Field: "rule", Reason: "is required: the rule as in the config file"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fieldFromYAML(err)
	}
	return nil
}

// FieldError is a problem with one field of a rule.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

var (
	yamlUnknown = regexp.MustCompile(`field (\S+) not found in type`)
	yamlType    = regexp.MustCompile("cannot unmarshal !!\\w+ `([^`]*)` into (\\S+)")
)

// fieldFromYAML turns yaml.v3's error into the field it is about.
func fieldFromYAML(err error) error {
	msg := err.Error()
	if m := yamlUnknown.FindStringSubmatch(msg); m != nil {
		return &FieldError{Field: m[1], Reason: "no such field"}
	}
	if m := yamlType.FindStringSubmatch(msg); m != nil {
		return &FieldError{Field: "rule", Reason: fmt.Sprintf("%q is not a %s", m[1], m[2])}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	return &FieldError{Field: "rule", Reason: msg}
}

// Apply returns the config to build: file with the state's modes and
// rules (file is not changed). It also returns where each live rule went
// (its config path, e.g. "rules[7]"), so build errors can be told by rule.
func (s State) Apply(file *config.Config) (*config.Config, map[string]int, error) {
	cfg := *file
	cfg.Rules = append([]config.Rule(nil), file.Rules...)
	cfg.RateLimits.Rules = append([]config.RateLimitRule(nil), file.RateLimits.Rules...)
	for i := range cfg.Rules {
		if m, ok := s.Modes[KindAccess+"/"+cfg.Rules[i].ID]; ok {
			cfg.Rules[i].Mode = m
		}
	}
	for i := range cfg.RateLimits.Rules {
		if m, ok := s.Modes[KindRateLimit+"/"+cfg.RateLimits.Rules[i].ID]; ok {
			cfg.RateLimits.Rules[i].Mode = m
		}
	}
	where := map[string]int{}
	var errs []error
	for i, lr := range s.Rules {
		switch lr.Kind {
		case KindAccess:
			r, err := DecodeAccess(lr.Rule)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if m, ok := s.Modes[KindAccess+"/"+r.ID]; ok {
				r.Mode = m
			}
			where["rules["+strconv.Itoa(len(cfg.Rules))+"]"] = i
			cfg.Rules = append(cfg.Rules, r)
		case KindRateLimit:
			r, err := DecodeRateLimit(lr.Rule)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if m, ok := s.Modes[KindRateLimit+"/"+r.ID]; ok {
				r.Mode = m
			}
			where["rate_limits.rules["+strconv.Itoa(len(cfg.RateLimits.Rules))+"]"] = i
			cfg.RateLimits.Rules = append(cfg.RateLimits.Rules, r)
		default:
			errs = append(errs, &FieldError{Field: "kind", Reason: fmt.Sprintf("%q must be access or rate_limit", lr.Kind)})
		}
	}
	return &cfg, where, errors.Join(errs...)
}

// Find returns the index of the live rule kind/id, or -1.
func (s State) Find(kind, id string) int {
	for i, r := range s.Rules {
		if r.Kind == kind && r.ID() == id {
			return i
		}
	}
	return -1
}

// FieldErrors turns a build or validation error of a config that s was
// applied to into the problems of live rule i, by field ("ips[0]"); the
// problems elsewhere come back as other.
func FieldErrors(err error, where map[string]int, i int) (fields []*FieldError, other []string) {
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}, nil
	}
	var es config.Errors
	if !errors.As(err, &es) {
		return nil, []string{err.Error()}
	}
	for _, e := range es {
		matched := false
		for prefix, j := range where {
			if j != i {
				continue
			}
			if e.Path == prefix {
				fields = append(fields, &FieldError{Field: "rule", Reason: e.Reason})
				matched = true
			} else if rest, ok := strings.CutPrefix(e.Path, prefix+"."); ok {
				fields = append(fields, &FieldError{Field: rest, Reason: e.Reason})
				matched = true
			}
		}
		if !matched {
			other = append(other, e.Error())
		}
	}
	return fields, other
}
