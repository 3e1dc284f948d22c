package audit

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is the kind of a statically known value.
type Kind int

// Value kinds. Unknown is a value computed at run time.
const (
	Unknown Kind = iota
	None
	Bool
	Int
	Float
	Str
	List
	Tuple
	Set
	Dict
	Module // an imported module or one of its attributes: Ref names it ("os.environ")
	Func   // a function or class: Ref names it ("decouple.config", "local:f")
	EnvObj // a django-environ Env(...) instance: Keys/Elts hold its schema defaults
)

// Value is what a settings expression evaluates to without running it,
// assuming every environment variable it reads is unset: the default an
// app gets when the variable is missing. Env lists those variables;
// Required names one read without a default (the app fails to start
// without it).
type Value struct {
	Kind Kind
	B    bool
	I    int64
	F    float64
	S    string
	Elts []*Value // List, Tuple, Set; a Dict's values
	Keys []*Value // a Dict's keys
	Ref  string   // Module/Func: the qualified name

	Env      []string
	Required string
	// Why says, for Unknown, what could not be told statically.
	Why string
	// File and Line are where the value is written.
	File string
	Line int
}

func unknown(why string, file string, line int) *Value {
	return &Value{Kind: Unknown, Why: why, File: file, Line: line}
}

// Known reports whether the value (and everything in it) was told statically.
func (v *Value) Known() bool {
	if v == nil || v.Kind == Unknown {
		return false
	}
	for _, e := range v.Elts {
		if !e.Known() {
			return false
		}
	}
	return true
}

// Truthy reports Python truthiness; ok is false when it cannot be told.
func (v *Value) Truthy() (truth, ok bool) {
	switch v.Kind {
	case None:
		return false, true
	case Bool:
		return v.B, true
	case Int:
		return v.I != 0, true
	case Float:
		return v.F != 0, true
	case Str:
		return v.S != "", true
	case List, Tuple, Set, Dict:
		return len(v.Elts) > 0, true
	case Module, Func, EnvObj:
		return true, true
	}
	return false, false
}

// Strings returns a list/tuple/set of strings (ok false if any is not one).
func (v *Value) Strings() ([]string, bool) {
	if v == nil || v.Kind != List && v.Kind != Tuple && v.Kind != Set {
		return nil, false
	}
	out := make([]string, 0, len(v.Elts))
	for _, e := range v.Elts {
		if e.Kind != Str {
			return nil, false
		}
		out = append(out, e.S)
	}
	return out, true
}

// Get returns a Dict's value for a string key, or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Dict {
		return nil
	}
	for i, k := range v.Keys {
		if k != nil && k.Kind == Str && k.S == key {
			return v.Elts[i]
		}
	}
	return nil
}

// Python renders the value as Python source would write it.
func (v *Value) Python() string {
	if v == nil {
		return "?"
	}
	switch v.Kind {
	case None:
		return "None"
	case Bool:
		if v.B {
			return "True"
		}
		return "False"
	case Int:
		return strconv.FormatInt(v.I, 10)
	case Float:
		return strconv.FormatFloat(v.F, 'g', -1, 64)
	case Str:
		return strconv.Quote(v.S)
	case List, Tuple, Set:
		var parts []string
		for _, e := range v.Elts {
			parts = append(parts, e.Python())
		}
		open, close := "[", "]"
		if v.Kind == Tuple {
			open, close = "(", ")"
		} else if v.Kind == Set {
			open, close = "{", "}"
		}
		return open + strings.Join(parts, ", ") + close
	case Dict:
		var parts []string
		for i, k := range v.Keys {
			parts = append(parts, k.Python()+": "+v.Elts[i].Python())
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case Module, Func:
		return v.Ref
	}
	return "<" + v.Why + ">"
}

// With returns a copy of v carrying the environment dependencies of deps.
func (v *Value) with(deps ...*Value) *Value {
	c := *v
	c.Env = append([]string(nil), v.Env...)
	for _, d := range deps {
		if d == nil {
			continue
		}
		for _, e := range d.Env {
			if !contains(c.Env, e) {
				c.Env = append(c.Env, e)
			}
		}
		if c.Required == "" {
			c.Required = d.Required
		}
	}
	return &c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// EnvNote says how the value depends on the environment, for messages.
func (v *Value) EnvNote() string {
	switch {
	case v.Required != "":
		return fmt.Sprintf("read from the environment variable %s (required: no default)", v.Required)
	case len(v.Env) > 0:
		return fmt.Sprintf("read from the environment (%s); when unset: %s", strings.Join(v.Env, ", "), v.Python())
	}
	return ""
}

func equal(a, b *Value) (eq, ok bool) {
	if !a.Known() || !b.Known() {
		return false, false
	}
	num := func(v *Value) (float64, bool) {
		switch v.Kind {
		case Int:
			return float64(v.I), true
		case Float:
			return v.F, true
		case Bool:
			if v.B {
				return 1, true
			}
			return 0, true
		}
		return 0, false
	}
	if x, ok1 := num(a); ok1 {
		if y, ok2 := num(b); ok2 {
			return x == y, true
		}
	}
	if a.Kind != b.Kind {
		if (a.Kind == List || a.Kind == Tuple) && (b.Kind == List || b.Kind == Tuple) {
			return false, true
		}
		return false, a.Kind != Module && b.Kind != Module && a.Kind != Func && b.Kind != Func
	}
	switch a.Kind {
	case None:
		return true, true
	case Str:
		return a.S == b.S, true
	case List, Tuple, Set:
		if len(a.Elts) != len(b.Elts) {
			return false, true
		}
		for i := range a.Elts {
			e, ok := equal(a.Elts[i], b.Elts[i])
			if !ok || !e {
				return e, ok
			}
		}
		return true, true
	}
	return false, false
}
