package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parapet-waf/parapet/internal/pyparse"
)

// Binding is a setting's value with the assignment that decided it.
type Binding struct {
	Value *Value
	File  string // relative to the project root
	Line  int
}

// Settings is the result of reading a settings module and what it imports.
type Settings struct {
	Vars map[string]*Binding
	// Files are the files read, in order (relative to the project root).
	Files []string
	// Notes say what could not be followed.
	Notes []string
	// Parsed keeps each file's syntax tree, for the secret checks.
	Parsed map[string]*pyparse.Module
}

// Get returns the binding of a setting, or nil when no file assigns it.
func (s *Settings) Get(name string) *Binding { return s.Vars[name] }

type evaluator struct {
	root     string
	settings *Settings
	active   map[string]bool // files being read (import cycles)
	modules  map[string]map[string]*Binding
}

// evalSettings reads the settings file at rel (relative to root).
func evalSettings(root, rel string) *Settings {
	e := &evaluator{root: root, settings: &Settings{Vars: map[string]*Binding{}, Parsed: map[string]*pyparse.Module{}},
		active: map[string]bool{}, modules: map[string]map[string]*Binding{}}
	e.file(rel, e.settings.Vars)
	return e.settings
}

func (e *evaluator) note(format string, a ...any) {
	e.settings.Notes = append(e.settings.Notes, fmt.Sprintf(format, a...))
}

// file executes the module at rel into vars.
func (e *evaluator) file(rel string, vars map[string]*Binding) bool {
	if e.active[rel] {
		return true
	}
	src, err := os.ReadFile(filepath.Join(e.root, rel))
	if err != nil {
		return false
	}
	e.active[rel] = true
	defer delete(e.active, rel)
	m := e.settings.Parsed[rel]
	if m == nil {
		m = pyparse.Parse(string(src))
		e.settings.Parsed[rel] = m
		e.settings.Files = append(e.settings.Files, rel)
		for _, err := range m.Errors {
			e.note("%s: %v (that statement skipped)", rel, err)
		}
	}
	s := &scope{e: e, file: rel, vars: vars}
	s.block(m.Body)
	return true
}

// moduleFile finds the file of a module imported from the file at rel
// (level dots, then the dotted name), or "".
func (e *evaluator) moduleFile(fromRel string, level int, module string) string {
	var dir string
	if level > 0 {
		dir = filepath.Dir(fromRel)
		for i := 1; i < level; i++ {
			dir = filepath.Dir(dir)
		}
	} else {
		dir = "."
	}
	parts := []string{dir}
	if module != "" {
		parts = append(parts, strings.Split(module, ".")...)
	}
	base := filepath.Join(parts...)
	for _, cand := range []string{base + ".py", filepath.Join(base, "__init__.py")} {
		if st, err := os.Stat(filepath.Join(e.root, cand)); err == nil && !st.IsDir() {
			return filepath.Clean(cand)
		}
	}
	return ""
}

type scope struct {
	e    *evaluator
	file string
	vars map[string]*Binding
}

func (s *scope) set(name string, v *Value, line int) {
	s.vars[name] = &Binding{Value: v, File: s.file, Line: line}
}

func (s *scope) block(body []pyparse.Stmt) {
	for _, st := range body {
		s.stmt(st)
	}
}

func (s *scope) stmt(st pyparse.Stmt) {
	switch st := st.(type) {
	case *pyparse.Assign:
		v := s.eval(st.Value)
		for _, t := range st.Targets {
			s.assign(t, v, st.Line)
		}
	case *pyparse.AnnAssign:
		if st.Value != nil {
			s.assign(st.Target, s.eval(st.Value), st.Line)
		}
	case *pyparse.AugAssign:
		if n, ok := st.Target.(*pyparse.Name); ok {
			cur := s.lookup(n.ID, st.Line)
			s.set(n.ID, s.binop(st.Op, cur, s.eval(st.Value), st.Line), st.Line)
		}
	case *pyparse.Import:
		for _, a := range st.Names {
			if a.AsName != "" {
				s.set(a.AsName, &Value{Kind: Module, Ref: a.Name}, st.Line)
			} else {
				top := strings.Split(a.Name, ".")[0]
				s.set(top, &Value{Kind: Module, Ref: top}, st.Line)
			}
		}
	case *pyparse.ImportFrom:
		s.importFrom(st)
	case *pyparse.ExprStmt:
		s.callStmt(st)
	case *pyparse.If:
		s.ifStmt(st)
	case *pyparse.Try:
		s.tryStmt(st)
	case *pyparse.With:
		s.block(st.Body)
	case *pyparse.For:
		s.taint(st.Body, "assigned in a for loop", st.Line)
	case *pyparse.While:
		s.taint(st.Body, "assigned in a while loop", st.Line)
	case *pyparse.FuncDef:
		s.set(st.Name, &Value{Kind: Func, Ref: "local:" + st.Name}, st.Line)
	case *pyparse.ClassDef:
		s.set(st.Name, &Value{Kind: Func, Ref: "local:" + st.Name}, st.Line)
	}
}

// taint marks every name a block assigns as unknown.
func (s *scope) taint(body []pyparse.Stmt, why string, line int) {
	for _, name := range assignedNames(body) {
		s.set(name, unknown(fmt.Sprintf("%s at %s:%d", why, s.file, line), s.file, line), line)
	}
}

func assignedNames(body []pyparse.Stmt) []string {
	var out []string
	var targets func(x pyparse.Expr)
	targets = func(x pyparse.Expr) {
		switch x := x.(type) {
		case *pyparse.Name:
			out = append(out, x.ID)
		case *pyparse.Tuple:
			for _, e := range x.Elts {
				targets(e)
			}
		case *pyparse.List:
			for _, e := range x.Elts {
				targets(e)
			}
		}
	}
	for _, st := range body {
		switch st := st.(type) {
		case *pyparse.Assign:
			for _, t := range st.Targets {
				targets(t)
			}
		case *pyparse.AnnAssign:
			targets(st.Target)
		case *pyparse.AugAssign:
			targets(st.Target)
		case *pyparse.If:
			out = append(out, assignedNames(st.Body)...)
			out = append(out, assignedNames(st.Else)...)
		case *pyparse.Try:
			out = append(out, assignedNames(st.Body)...)
			for _, h := range st.Handlers {
				out = append(out, assignedNames(h.Body)...)
			}
		case *pyparse.With:
			out = append(out, assignedNames(st.Body)...)
		case *pyparse.For:
			out = append(out, assignedNames(st.Body)...)
		}
	}
	return out
}

func (s *scope) assign(target pyparse.Expr, v *Value, line int) {
	switch t := target.(type) {
	case *pyparse.Name:
		s.set(t.ID, v, line)
	case *pyparse.Tuple, *pyparse.List:
		var elts []pyparse.Expr
		if tt, ok := t.(*pyparse.Tuple); ok {
			elts = tt.Elts
		} else {
			elts = t.(*pyparse.List).Elts
		}
		for i, el := range elts {
			if (v.Kind == Tuple || v.Kind == List) && len(v.Elts) == len(elts) {
				s.assign(el, v.Elts[i], line)
			} else {
				s.assign(el, unknown(fmt.Sprintf("unpacked from a value computed at run time (%s:%d)", s.file, line), s.file, line), line)
			}
		}
	case *pyparse.Subscript:
		// DATABASES["default"]["OPTIONS"] = {...}: change the dict in place.
		container := s.eval(t.X)
		key := s.eval(t.Index)
		if container.Kind == Dict && key.Kind == Str {
			for i, k := range container.Keys {
				if k.Kind == Str && k.S == key.S {
					container.Elts[i] = v
					return
				}
			}
			container.Keys = append(container.Keys, key)
			container.Elts = append(container.Elts, v)
		}
	}
}

func (s *scope) importFrom(st *pyparse.ImportFrom) {
	rel := s.e.moduleFile(s.file, st.Level, st.Module)
	if rel == "" && st.Level == 0 {
		// A project module named from the root (mysite.settings.base).
		rel = s.e.moduleFile("", 0, st.Module)
	}
	if st.Star {
		if rel == "" {
			if st.Level > 0 || strings.Contains(st.Module, "settings") {
				s.e.note("%s:%d: from %s%s import *: no such file in the project, not followed", s.file, st.Line, strings.Repeat(".", st.Level), st.Module)
			}
			return
		}
		s.e.file(rel, s.vars)
		return
	}
	if rel != "" {
		vars, ok := s.e.modules[rel]
		if !ok {
			vars = map[string]*Binding{}
			s.e.modules[rel] = vars
			s.e.file(rel, vars)
		}
		for _, a := range st.Names {
			name := a.Name
			if a.AsName != "" {
				name = a.AsName
			}
			if b := vars[a.Name]; b != nil {
				s.vars[name] = b
			} else {
				s.set(name, &Value{Kind: Module, Ref: st.Module + "." + a.Name}, st.Line)
			}
		}
		return
	}
	for _, a := range st.Names {
		name := a.Name
		if a.AsName != "" {
			name = a.AsName
		}
		ref := st.Module + "." + a.Name
		kind := Module
		switch ref {
		case "os.getenv", "decouple.config", "environs.Env", "environ.Env", "dj_database_url.config", "dj_database_url.parse":
			kind = Func
		}
		s.set(name, &Value{Kind: kind, Ref: ref}, st.Line)
	}
}

// callStmt applies the in-place changes settings files make with method
// calls: MIDDLEWARE.insert(0, ...), INSTALLED_APPS.append(...), += via
// extend, DATABASES["default"].update(...).
func (s *scope) callStmt(st *pyparse.ExprStmt) {
	call, ok := st.X.(*pyparse.Call)
	if !ok {
		return
	}
	attr, ok := call.Func.(*pyparse.Attribute)
	if !ok {
		return
	}
	recv := s.eval(attr.X)
	args := make([]*Value, len(call.Args))
	for i, a := range call.Args {
		args[i] = s.eval(a)
	}
	switch {
	case recv.Kind == List && attr.Name == "append" && len(args) == 1:
		recv.Elts = append(recv.Elts, args[0])
	case recv.Kind == List && attr.Name == "extend" && len(args) == 1 && (args[0].Kind == List || args[0].Kind == Tuple):
		recv.Elts = append(recv.Elts, args[0].Elts...)
	case recv.Kind == List && attr.Name == "insert" && len(args) == 2 && args[0].Kind == Int:
		i := int(args[0].I)
		if i < 0 {
			i += len(recv.Elts)
		}
		i = max(0, min(i, len(recv.Elts)))
		recv.Elts = append(recv.Elts[:i], append([]*Value{args[1]}, recv.Elts[i:]...)...)
	case recv.Kind == List && attr.Name == "remove" && len(args) == 1:
		for i, el := range recv.Elts {
			if eq, _ := equal(el, args[0]); eq {
				recv.Elts = append(recv.Elts[:i], recv.Elts[i+1:]...)
				break
			}
		}
	case recv.Kind == Dict && attr.Name == "update" && len(args) == 1 && args[0].Kind == Dict:
		for i, k := range args[0].Keys {
			s.assignKey(recv, k, args[0].Elts[i])
		}
	case recv.Kind == List || recv.Kind == Dict:
		if n, ok := attr.X.(*pyparse.Name); ok {
			s.set(n.ID, unknown(fmt.Sprintf("changed by .%s() at %s:%d", attr.Name, s.file, st.Line), s.file, st.Line), st.Line)
		}
	}
}

func (s *scope) assignKey(d, k, v *Value) {
	for i, old := range d.Keys {
		if eq, _ := equal(old, k); eq {
			d.Elts[i] = v
			return
		}
	}
	d.Keys = append(d.Keys, k)
	d.Elts = append(d.Elts, v)
}

func (s *scope) ifStmt(st *pyparse.If) {
	test := s.eval(st.Test)
	if t, ok := test.Truthy(); ok && len(test.Env) == 0 && test.Required == "" {
		if t {
			s.block(st.Body)
		} else {
			s.block(st.Else)
		}
		return
	}
	// Unknown at build time, or chosen by the environment: run both branches
	// and keep what they agree on.
	why := "computed at run time"
	if len(test.Env) > 0 {
		why = "the environment (" + strings.Join(test.Env, ", ") + ")"
	}
	a, b := s.fork(), s.fork()
	a.block(st.Body)
	b.block(st.Else)
	for name, ba := range a.vars {
		bb := b.vars[name]
		if bb == ba {
			s.vars[name] = ba
			continue
		}
		if bb != nil {
			if eq, ok := equal(ba.Value, bb.Value); ok && eq {
				s.vars[name] = ba
				continue
			}
		}
		s.vars[name] = &Binding{Value: unknown(fmt.Sprintf("set depending on %s by the if at %s:%d", why, s.file, st.Line), ba.File, ba.Line), File: ba.File, Line: ba.Line}
	}
	for name, bb := range b.vars {
		if _, ok := a.vars[name]; !ok {
			s.vars[name] = &Binding{Value: unknown(fmt.Sprintf("set depending on %s by the if at %s:%d", why, s.file, st.Line), bb.File, bb.Line), File: bb.File, Line: bb.Line}
		}
	}
}

// fork copies the scope's variables (bindings shared, the map not).
func (s *scope) fork() *scope {
	vars := make(map[string]*Binding, len(s.vars))
	for k, v := range s.vars {
		vars[k] = v
	}
	return &scope{e: s.e, file: s.file, vars: vars}
}

func (s *scope) tryStmt(st *pyparse.Try) {
	// try: from .local import * / except ImportError: pass. Follow the
	// body when its files exist; otherwise the first handler.
	missing := false
	for _, b := range st.Body {
		if imp, ok := b.(*pyparse.ImportFrom); ok && (imp.Level > 0 || strings.Contains(imp.Module, "settings")) && s.e.moduleFile(s.file, imp.Level, imp.Module) == "" {
			missing = true
		}
	}
	if missing && len(st.Handlers) > 0 {
		s.e.note("%s:%d: an optional import of a file not in the project; its except branch is read", s.file, st.Line)
		s.block(st.Handlers[0].Body)
	} else {
		s.block(st.Body)
		s.block(st.Else)
	}
	s.block(st.Finally)
}

func (s *scope) lookup(name string, line int) *Value {
	if b := s.vars[name]; b != nil {
		return b.Value
	}
	switch name {
	case "os", "sys", "json":
		return &Value{Kind: Module, Ref: name}
	case "bool", "int", "str", "float", "list", "tuple", "dict", "set", "len", "print", "getattr", "Path":
		return &Value{Kind: Func, Ref: "builtins." + name}
	}
	return unknown(fmt.Sprintf("%s is not defined in the settings files read (%s:%d)", name, s.file, line), s.file, line)
}

func (s *scope) eval(x pyparse.Expr) *Value {
	line := x.Position().Line
	switch x := x.(type) {
	case *pyparse.Const:
		v := &Value{File: s.file, Line: line}
		switch x.Kind {
		case "str", "bytes":
			v.Kind, v.S = Str, x.Str
		case "bool":
			v.Kind, v.B = Bool, x.Bool
		case "None":
			v.Kind = None
		case "int":
			n, err := strconv.ParseInt(strings.ReplaceAll(x.Raw, "_", ""), 0, 64)
			if err != nil {
				return unknown("a number too large", s.file, line)
			}
			v.Kind, v.I = Int, n
		case "float":
			f, err := strconv.ParseFloat(strings.ReplaceAll(x.Raw, "_", ""), 64)
			if err != nil {
				return unknown("a number", s.file, line)
			}
			v.Kind, v.F = Float, f
		default:
			return unknown("a literal "+x.Kind, s.file, line)
		}
		return v
	case *pyparse.Name:
		return s.lookup(x.ID, line)
	case *pyparse.FString:
		var b strings.Builder
		out := &Value{Kind: Str, File: s.file, Line: line}
		for _, p := range x.Parts {
			pv := s.eval(p)
			out = out.with(pv)
			switch pv.Kind {
			case Str:
				b.WriteString(pv.S)
			case Int, Float, Bool, None:
				b.WriteString(strings.Trim(pv.Python(), `"`))
			default:
				return unknown(fmt.Sprintf("an f-string with a value computed at run time (%s:%d)", s.file, line), s.file, line).with(out)
			}
		}
		out.S = b.String()
		return out
	case *pyparse.List, *pyparse.Tuple, *pyparse.Set:
		var elts []pyparse.Expr
		kind := List
		switch x := x.(type) {
		case *pyparse.List:
			elts = x.Elts
		case *pyparse.Tuple:
			elts, kind = x.Elts, Tuple
		case *pyparse.Set:
			elts, kind = x.Elts, Set
		}
		v := &Value{Kind: kind, File: s.file, Line: line}
		for _, e := range elts {
			if st, ok := e.(*pyparse.Starred); ok {
				inner := s.eval(st.X)
				if inner.Kind == List || inner.Kind == Tuple || inner.Kind == Set {
					v.Elts = append(v.Elts, inner.Elts...)
					continue
				}
				return unknown(fmt.Sprintf("unpacks a value computed at run time (%s:%d)", s.file, line), s.file, line)
			}
			v.Elts = append(v.Elts, s.eval(e))
		}
		return v
	case *pyparse.Dict:
		v := &Value{Kind: Dict, File: s.file, Line: line}
		for i, k := range x.Keys {
			if k == nil {
				inner := s.eval(x.Values[i])
				if inner.Kind != Dict {
					return unknown(fmt.Sprintf("unpacks a value computed at run time (%s:%d)", s.file, line), s.file, line)
				}
				for j := range inner.Keys {
					s.assignKey(v, inner.Keys[j], inner.Elts[j])
				}
				continue
			}
			s.assignKey(v, s.eval(k), s.eval(x.Values[i]))
		}
		return v
	case *pyparse.Attribute:
		base := s.eval(x.X)
		if base.Kind == Module {
			return &Value{Kind: Module, Ref: base.Ref + "." + x.Name, File: s.file, Line: line}
		}
		if base.Kind == EnvObj {
			return &Value{Kind: Func, Ref: "environ.Env." + x.Name, Keys: base.Keys, Elts: base.Elts, File: s.file, Line: line}
		}
		if base.Kind == Str {
			return &Value{Kind: Func, Ref: "str." + x.Name, Elts: []*Value{base}}
		}
		return unknown(fmt.Sprintf("an attribute of a value computed at run time (%s:%d)", s.file, line), s.file, line).with(base)
	case *pyparse.Subscript:
		base := s.eval(x.X)
		idx := s.eval(x.Index)
		if base.Kind == Module && base.Ref == "os.environ" && idx.Kind == Str {
			return &Value{Kind: Unknown, Why: "the environment variable " + idx.S, Required: idx.S, Env: []string{idx.S}, File: s.file, Line: line}
		}
		if base.Kind == Dict && idx.Kind == Str {
			if v := base.Get(idx.S); v != nil {
				return v
			}
		}
		if (base.Kind == List || base.Kind == Tuple) && idx.Kind == Int {
			i := int(idx.I)
			if i < 0 {
				i += len(base.Elts)
			}
			if i >= 0 && i < len(base.Elts) {
				return base.Elts[i]
			}
		}
		return unknown(fmt.Sprintf("an item of a value computed at run time (%s:%d)", s.file, line), s.file, line).with(base, idx)
	case *pyparse.BinOp:
		return s.binop(x.Op, s.eval(x.L), s.eval(x.R), line)
	case *pyparse.UnaryOp:
		v := s.eval(x.X)
		switch x.Op {
		case "not":
			if t, ok := v.Truthy(); ok {
				return (&Value{Kind: Bool, B: !t, File: s.file, Line: line}).with(v)
			}
		case "-":
			switch v.Kind {
			case Int:
				return (&Value{Kind: Int, I: -v.I, File: s.file, Line: line}).with(v)
			case Float:
				return (&Value{Kind: Float, F: -v.F, File: s.file, Line: line}).with(v)
			}
		case "+":
			return v
		}
		return unknown(fmt.Sprintf("computed at run time (%s:%d)", s.file, line), s.file, line).with(v)
	case *pyparse.BoolOp:
		var deps []*Value
		for i, e := range x.Values {
			v := s.eval(e)
			deps = append(deps, v)
			t, ok := v.Truthy()
			if !ok {
				return unknown(fmt.Sprintf("computed at run time (%s:%d)", s.file, line), s.file, line).with(deps...)
			}
			if i == len(x.Values)-1 || x.Op == "or" && t || x.Op == "and" && !t {
				return v.with(deps...)
			}
		}
	case *pyparse.Compare:
		l := s.eval(x.L)
		deps := []*Value{l}
		result := true
		for i, op := range x.Ops {
			r := s.eval(x.Rs[i])
			deps = append(deps, r)
			ok, known := compare(op, l, r)
			if !known {
				return unknown(fmt.Sprintf("a comparison computed at run time (%s:%d)", s.file, line), s.file, line).with(deps...)
			}
			result = result && ok
			l = r
		}
		return (&Value{Kind: Bool, B: result, File: s.file, Line: line}).with(deps...)
	case *pyparse.IfExp:
		t := s.eval(x.Test)
		if truth, ok := t.Truthy(); ok {
			if truth {
				return s.eval(x.Body).with(t)
			}
			return s.eval(x.Else).with(t)
		}
		return unknown(fmt.Sprintf("a conditional computed at run time (%s:%d)", s.file, line), s.file, line).with(t)
	case *pyparse.Call:
		return s.call(x)
	}
	return unknown(fmt.Sprintf("computed at run time (%s:%d)", s.file, line), s.file, line)
}

func compare(op string, l, r *Value) (result, known bool) {
	switch op {
	case "==", "!=", "is", "is not":
		eq, ok := equal(l, r)
		if !ok {
			return false, false
		}
		if op == "!=" || op == "is not" {
			return !eq, true
		}
		return eq, true
	case "in", "not in":
		var found bool
		switch {
		case r.Kind == Str && l.Kind == Str:
			found = strings.Contains(r.S, l.S)
		case r.Kind == List || r.Kind == Tuple || r.Kind == Set:
			for _, e := range r.Elts {
				eq, ok := equal(l, e)
				if !ok {
					return false, false
				}
				found = found || eq
			}
		case r.Kind == Dict:
			for _, e := range r.Keys {
				eq, ok := equal(l, e)
				if !ok {
					return false, false
				}
				found = found || eq
			}
		default:
			return false, false
		}
		if op == "not in" {
			return !found, true
		}
		return found, true
	case "<", "<=", ">", ">=":
		if l.Kind == Int && r.Kind == Int {
			switch op {
			case "<":
				return l.I < r.I, true
			case "<=":
				return l.I <= r.I, true
			case ">":
				return l.I > r.I, true
			default:
				return l.I >= r.I, true
			}
		}
	}
	return false, false
}

func (s *scope) binop(op string, l, r *Value, line int) *Value {
	out := func(v *Value) *Value {
		v.File, v.Line = s.file, line
		return v.with(l, r)
	}
	switch {
	case op == "+" && l.Kind == Str && r.Kind == Str:
		return out(&Value{Kind: Str, S: l.S + r.S})
	case op == "+" && (l.Kind == List && r.Kind == List || l.Kind == Tuple && r.Kind == Tuple):
		return out(&Value{Kind: l.Kind, Elts: append(append([]*Value{}, l.Elts...), r.Elts...)})
	case op == "|" && l.Kind == Dict && r.Kind == Dict:
		d := &Value{Kind: Dict}
		for i := range l.Keys {
			s.assignKey(d, l.Keys[i], l.Elts[i])
		}
		for i := range r.Keys {
			s.assignKey(d, r.Keys[i], r.Elts[i])
		}
		return out(d)
	case l.Kind == Int && r.Kind == Int:
		switch op {
		case "+":
			return out(&Value{Kind: Int, I: l.I + r.I})
		case "-":
			return out(&Value{Kind: Int, I: l.I - r.I})
		case "*":
			return out(&Value{Kind: Int, I: l.I * r.I})
		case "//":
			if r.I != 0 {
				return out(&Value{Kind: Int, I: l.I / r.I})
			}
		case "**":
			if r.I >= 0 && r.I < 63 {
				n := int64(1)
				for i := int64(0); i < r.I; i++ {
					n *= l.I
				}
				return out(&Value{Kind: Int, I: n})
			}
		}
	case (l.Kind == Int || l.Kind == Float) && (r.Kind == Int || r.Kind == Float):
		a, b := l.F, r.F
		if l.Kind == Int {
			a = float64(l.I)
		}
		if r.Kind == Int {
			b = float64(r.I)
		}
		switch op {
		case "+":
			return out(&Value{Kind: Float, F: a + b})
		case "-":
			return out(&Value{Kind: Float, F: a - b})
		case "*":
			return out(&Value{Kind: Float, F: a * b})
		case "/":
			if b != 0 {
				return out(&Value{Kind: Float, F: a / b})
			}
		}
	}
	return out(unknown(fmt.Sprintf("computed at run time (%s:%d)", s.file, line), s.file, line))
}

// truthyString is how django-environ and python-decouple read a boolean.
func truthyString(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on", "y", "t":
		return true, true
	case "false", "0", "no", "off", "n", "f", "":
		return false, true
	}
	return false, false
}

func (s *scope) kwarg(c *pyparse.Call, name string) (*Value, bool) {
	for _, k := range c.Keywords {
		if k.Name == name {
			return s.eval(k.Value), true
		}
	}
	return nil, false
}

// envRead is an environment read: var name, its default (nil: none).
func (s *scope) envRead(name string, def *Value, hasDef bool, cast string, line int) *Value {
	if !hasDef {
		return &Value{Kind: Unknown, Why: "the environment variable " + name, Required: name, Env: []string{name}, File: s.file, Line: line}
	}
	v := def.with()
	if !contains(v.Env, name) {
		v.Env = append(v.Env, name)
	}
	if cast == "bool" && v.Kind == Str {
		if b, ok := truthyString(v.S); ok {
			v.Kind, v.B, v.S = Bool, b, ""
		}
	}
	if cast == "int" && v.Kind == Str {
		if n, err := strconv.ParseInt(strings.TrimSpace(v.S), 10, 64); err == nil {
			v.Kind, v.I, v.S = Int, n, ""
		}
	}
	if cast == "list" && v.Kind == Str {
		var elts []*Value
		for _, p := range strings.Split(v.S, ",") {
			if p = strings.TrimSpace(p); p != "" {
				elts = append(elts, &Value{Kind: Str, S: p, File: v.File, Line: v.Line})
			}
		}
		v.Kind, v.Elts, v.S = List, elts, ""
	}
	return v
}

func (s *scope) call(c *pyparse.Call) *Value {
	line := c.Line
	fn := s.eval(c.Func)
	args := make([]*Value, 0, len(c.Args))
	for _, a := range c.Args {
		args = append(args, s.eval(a))
	}
	arg := func(i int, kw string) (*Value, bool) {
		if i < len(args) {
			return args[i], true
		}
		return s.kwarg(c, kw)
	}
	ref := fn.Ref
	switch fn.Kind {
	case Module, Func:
	case EnvObj:
		ref = "environ.Env()"
	default:
		ref = ""
	}
	switch {
	case ref == "os.environ.get" || ref == "os.getenv" || ref == "os.environ.setdefault":
		name, ok := arg(0, "key")
		if !ok || name.Kind != Str {
			break
		}
		def, hasDef := arg(1, "default")
		if !hasDef {
			def, hasDef = &Value{Kind: None, File: s.file, Line: line}, true
		}
		return s.envRead(name.S, def, hasDef, "", line)
	case ref == "decouple.config" || strings.HasSuffix(ref, "decouple.config"):
		name, ok := arg(0, "option")
		if !ok || name.Kind != Str {
			break
		}
		def, hasDef := s.kwarg(c, "default")
		cast := ""
		if cv, ok := s.kwarg(c, "cast"); ok && cv.Kind == Func {
			cast = strings.TrimPrefix(cv.Ref, "builtins.")
			if strings.HasSuffix(cv.Ref, "Csv") {
				cast = "list"
			}
		}
		return s.envRead(name.S, def, hasDef, cast, line)
	case ref == "environ.Env":
		// Env(DEBUG=(bool, False)): the schema's defaults.
		env := &Value{Kind: EnvObj, Ref: "environ.Env"}
		for _, k := range c.Keywords {
			sch := s.eval(k.Value)
			if sch.Kind == Tuple && len(sch.Elts) == 2 {
				env.Keys = append(env.Keys, &Value{Kind: Str, S: k.Name})
				env.Elts = append(env.Elts, sch.Elts[1])
			}
		}
		return env
	case ref == "decouple.Csv":
		return &Value{Kind: Func, Ref: "decouple.Csv"}
	case ref == "environ.Env()" || strings.HasPrefix(ref, "environ.Env."):
		// env("X", default=...), env.bool("X", default=...), env.str ...
		method := strings.TrimPrefix(strings.TrimPrefix(ref, "environ.Env"), ".")
		if ref == "environ.Env()" {
			method = ""
		}
		name, ok := arg(0, "var")
		if !ok || name.Kind != Str {
			break
		}
		def, hasDef := s.kwarg(c, "default")
		if !hasDef && len(args) > 1 && method != "" {
			def, hasDef = args[1], true
		}
		if !hasDef {
			schema := &Value{Kind: Dict, Keys: fn.Keys, Elts: fn.Elts}
			def = schema.Get(name.S)
			hasDef = def != nil
		}
		switch method {
		case "db", "db_url", "cache", "cache_url", "email", "email_url", "search_url", "json", "dict", "url", "path":
			if hasDef && def.Kind == Str && (method == "db" || method == "db_url") {
				return dbFromURL(def.S, name.S, nil, nil, s.file, line)
			}
			v := unknown(fmt.Sprintf("parsed from the environment variable %s (%s:%d)", name.S, s.file, line), s.file, line)
			v.Env = []string{name.S}
			if !hasDef {
				v.Required = name.S
			}
			return v
		}
		return s.envRead(name.S, def, hasDef, method, line)
	case ref == "dj_database_url.config" || ref == "dj_database_url.parse":
		var url *Value
		envName := "DATABASE_URL"
		if ref == "dj_database_url.parse" {
			url, _ = arg(0, "url")
		} else {
			if v, ok := s.kwarg(c, "env"); ok && v.Kind == Str {
				envName = v.S
			}
			url, _ = s.kwarg(c, "default")
		}
		cma, _ := s.kwarg(c, "conn_max_age")
		ssl, _ := s.kwarg(c, "ssl_require")
		urlStr := ""
		if url != nil && url.Kind == Str {
			urlStr = url.S
		}
		v := dbFromURL(urlStr, envName, cma, ssl, s.file, line)
		if ref == "dj_database_url.parse" && url != nil {
			v = v.with(url)
			v.Env = url.Env
		}
		return v
	case ref == "builtins.bool" && len(args) == 1:
		if t, ok := args[0].Truthy(); ok {
			return (&Value{Kind: Bool, B: t, File: s.file, Line: line}).with(args[0])
		}
	case ref == "builtins.int" && len(args) == 1:
		switch args[0].Kind {
		case Int:
			return args[0]
		case Str:
			if n, err := strconv.ParseInt(strings.TrimSpace(args[0].S), 10, 64); err == nil {
				return (&Value{Kind: Int, I: n, File: s.file, Line: line}).with(args[0])
			}
		case Float:
			return (&Value{Kind: Int, I: int64(args[0].F), File: s.file, Line: line}).with(args[0])
		}
	case ref == "builtins.str" && len(args) == 1 && args[0].Known():
		if args[0].Kind == Str {
			return args[0]
		}
		return (&Value{Kind: Str, S: strings.Trim(args[0].Python(), `"`), File: s.file, Line: line}).with(args[0])
	case (ref == "builtins.list" || ref == "builtins.tuple") && len(args) == 1 && (args[0].Kind == List || args[0].Kind == Tuple):
		k := List
		if ref == "builtins.tuple" {
			k = Tuple
		}
		return (&Value{Kind: k, Elts: args[0].Elts, File: s.file, Line: line}).with(args[0])
	case ref == "builtins.dict" && len(args) == 0:
		d := &Value{Kind: Dict, File: s.file, Line: line}
		for _, k := range c.Keywords {
			if k.Name != "" {
				s.assignKey(d, &Value{Kind: Str, S: k.Name}, s.eval(k.Value))
			}
		}
		return d
	case strings.HasPrefix(ref, "str.") && len(fn.Elts) == 1:
		str := fn.Elts[0]
		switch strings.TrimPrefix(ref, "str.") {
		case "lower":
			return (&Value{Kind: Str, S: strings.ToLower(str.S), File: s.file, Line: line}).with(str)
		case "upper":
			return (&Value{Kind: Str, S: strings.ToUpper(str.S), File: s.file, Line: line}).with(str)
		case "strip":
			if len(args) == 0 {
				return (&Value{Kind: Str, S: strings.TrimSpace(str.S), File: s.file, Line: line}).with(str)
			}
		case "split":
			sep := ""
			if len(args) == 1 && args[0].Kind == Str {
				sep = args[0].S
			}
			var parts []string
			if sep == "" {
				parts = strings.Fields(str.S)
			} else {
				parts = strings.Split(str.S, sep)
			}
			v := &Value{Kind: List, File: s.file, Line: line}
			for _, p := range parts {
				v.Elts = append(v.Elts, &Value{Kind: Str, S: p, File: s.file, Line: line})
			}
			return v.with(str)
		case "startswith", "endswith":
			if len(args) == 1 && args[0].Kind == Str {
				f := strings.HasPrefix
				if strings.HasSuffix(ref, "endswith") {
					f = strings.HasSuffix
				}
				return (&Value{Kind: Bool, B: f(str.S, args[0].S), File: s.file, Line: line}).with(str)
			}
		}
	}
	name := ref
	if n, ok := c.Func.(*pyparse.Name); ok && name == "" {
		name = n.ID
	}
	if name == "" {
		name = "a function"
	}
	name = strings.TrimPrefix(strings.TrimPrefix(name, "local:"), "builtins.")
	return unknown(fmt.Sprintf("computed by %s() at %s:%d", name, s.file, line), s.file, line).with(append(args, fn)...)
}

// dbFromURL is what dj_database_url makes of a URL (when the environment
// variable is unset, the default URL): ENGINE, CONN_MAX_AGE, OPTIONS.
func dbFromURL(url, envName string, connMaxAge, sslRequire *Value, file string, line int) *Value {
	d := &Value{Kind: Dict, File: file, Line: line, Env: []string{envName}}
	put := func(k string, v *Value) {
		d.Keys = append(d.Keys, &Value{Kind: Str, S: k})
		d.Elts = append(d.Elts, v)
	}
	engine := unknown("the engine of the URL in "+envName, file, line)
	if i := strings.Index(url, "://"); i > 0 {
		scheme := url[:i]
		switch {
		case strings.HasPrefix(scheme, "postgres"), strings.HasPrefix(scheme, "pgsql"):
			engine = &Value{Kind: Str, S: "django.db.backends.postgresql"}
		case strings.HasPrefix(scheme, "mysql"):
			engine = &Value{Kind: Str, S: "django.db.backends.mysql"}
		case strings.HasPrefix(scheme, "sqlite"):
			engine = &Value{Kind: Str, S: "django.db.backends.sqlite3"}
		}
	}
	engine.Env = []string{envName}
	put("ENGINE", engine)
	if connMaxAge == nil {
		connMaxAge = &Value{Kind: Int, I: 0, File: file, Line: line}
	}
	put("CONN_MAX_AGE", connMaxAge)
	opts := &Value{Kind: Dict, File: file, Line: line}
	if sslRequire != nil {
		if t, ok := sslRequire.Truthy(); ok && t {
			opts.Keys = append(opts.Keys, &Value{Kind: Str, S: "sslmode"})
			opts.Elts = append(opts.Elts, &Value{Kind: Str, S: "require", File: file, Line: sslRequire.Line})
		} else if !ok {
			opts = unknown("ssl_require computed at run time", file, line)
		}
	}
	if strings.Contains(url, "sslmode=") && opts.Kind == Dict {
		mode := url[strings.Index(url, "sslmode=")+8:]
		if i := strings.IndexAny(mode, "&#"); i >= 0 {
			mode = mode[:i]
		}
		opts.Keys = append(opts.Keys, &Value{Kind: Str, S: "sslmode"})
		opts.Elts = append(opts.Elts, &Value{Kind: Str, S: mode})
	}
	put("OPTIONS", opts)
	return d
}
