package audit

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/parapet-waf/parapet/internal/findings"
	"github.com/parapet-waf/parapet/internal/pyparse"
)

// checkSQL finds .raw(), .extra(), RawSQL() and cursor.execute() calls
// whose query is built with an f-string, +, % or .format().
func (a *auditor) checkSQL() {
	found := 0
	for _, rel := range a.pythonFiles() {
		if strings.Contains(filepath.ToSlash(rel), "/migrations/") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(a.root, rel))
		if err != nil {
			continue
		}
		m := a.s.Parsed[rel]
		if m == nil {
			m = pyparse.Parse(string(src))
		}
		for _, h := range findRawSQL(m.Body) {
			found++
			a.rep.Add(rRawSQL, findings.Fail, rel, h.line, "%s with a query built by %s", h.call, h.how)
		}
	}
	if found == 0 {
		a.rep.Add(rRawSQL, findings.Pass, "", 0, "no raw SQL built from strings in %d Python files", len(a.pythonFiles()))
	}
}

type sqlHit struct {
	line      int
	call, how string
}

// findRawSQL walks a body; each function's assignments are remembered so
// that query = f"..."; cursor.execute(query) is found too.
func findRawSQL(body []pyparse.Stmt) []sqlHit {
	var hits []sqlHit
	var visit func(body []pyparse.Stmt, assigns map[string][]*pyparse.Assign)
	visit = func(body []pyparse.Stmt, assigns map[string][]*pyparse.Assign) {
		local := map[string][]*pyparse.Assign{}
		for k, v := range assigns {
			local[k] = v
		}
		collectAssigns(body, local)
		var nested []*pyparse.FuncDef
		var classes []*pyparse.ClassDef
		walkExprs(shallow(body, &nested, &classes), func(x pyparse.Expr) {
			c, ok := x.(*pyparse.Call)
			if !ok {
				return
			}
			name := ""
			switch f := c.Func.(type) {
			case *pyparse.Attribute:
				switch f.Name {
				case "raw", "extra", "execute", "executemany", "RawSQL":
					name = "." + f.Name + "()"
				}
			case *pyparse.Name:
				if f.ID == "RawSQL" {
					name = "RawSQL()"
				}
			}
			if name == "" {
				return
			}
			var queries []pyparse.Expr
			if len(c.Args) > 0 && name != ".extra()" {
				queries = append(queries, c.Args[0])
			}
			for _, k := range c.Keywords {
				switch k.Name {
				case "sql", "raw_query", "query", "where", "select", "tables":
					queries = append(queries, k.Value)
				}
			}
			for _, q := range queries {
				if how := builtQuery(q, local, c.Line, 0); how != "" {
					hits = append(hits, sqlHit{line: c.Line, call: name, how: how})
					return
				}
			}
		})
		for _, f := range nested {
			visit(f.Body, nil)
		}
		for _, cl := range classes {
			visit(cl.Body, nil)
		}
	}
	visit(body, nil)
	return hits
}

// shallow returns body without function and class bodies (collected).
func shallow(body []pyparse.Stmt, fns *[]*pyparse.FuncDef, classes *[]*pyparse.ClassDef) []pyparse.Stmt {
	var out []pyparse.Stmt
	for _, s := range body {
		switch s := s.(type) {
		case *pyparse.FuncDef:
			*fns = append(*fns, s)
		case *pyparse.ClassDef:
			*classes = append(*classes, s)
		case *pyparse.If:
			out = append(out, &pyparse.If{Pos: s.Pos, Test: s.Test, Body: shallow(s.Body, fns, classes), Else: shallow(s.Else, fns, classes)})
		case *pyparse.For:
			out = append(out, &pyparse.For{Pos: s.Pos, Iter: s.Iter, Body: shallow(s.Body, fns, classes), Else: shallow(s.Else, fns, classes)})
		case *pyparse.While:
			out = append(out, &pyparse.While{Pos: s.Pos, Test: s.Test, Body: shallow(s.Body, fns, classes), Else: shallow(s.Else, fns, classes)})
		case *pyparse.With:
			out = append(out, &pyparse.With{Pos: s.Pos, Items: s.Items, Body: shallow(s.Body, fns, classes)})
		case *pyparse.Try:
			t := &pyparse.Try{Pos: s.Pos, Body: shallow(s.Body, fns, classes), Else: shallow(s.Else, fns, classes), Finally: shallow(s.Finally, fns, classes)}
			for _, h := range s.Handlers {
				t.Handlers = append(t.Handlers, pyparse.Handler{Pos: h.Pos, Type: h.Type, Name: h.Name, Body: shallow(h.Body, fns, classes)})
			}
			out = append(out, t)
		default:
			out = append(out, s)
		}
	}
	return out
}

func collectAssigns(body []pyparse.Stmt, into map[string][]*pyparse.Assign) {
	for _, s := range body {
		switch s := s.(type) {
		case *pyparse.Assign:
			for _, t := range s.Targets {
				if n, ok := t.(*pyparse.Name); ok {
					into[n.ID] = append(into[n.ID], s)
				}
			}
		case *pyparse.AugAssign:
			if n, ok := s.Target.(*pyparse.Name); ok {
				// query += " AND x = " + y: treated as query = query + ...
				into[n.ID] = append(into[n.ID], &pyparse.Assign{Pos: s.Pos, Targets: []pyparse.Expr{n}, Value: &pyparse.BinOp{Pos: s.Pos, Op: s.Op, L: n, R: s.Value}})
			}
		case *pyparse.If:
			collectAssigns(s.Body, into)
			collectAssigns(s.Else, into)
		case *pyparse.For:
			collectAssigns(s.Body, into)
		case *pyparse.While:
			collectAssigns(s.Body, into)
		case *pyparse.With:
			collectAssigns(s.Body, into)
		case *pyparse.Try:
			collectAssigns(s.Body, into)
			for _, h := range s.Handlers {
				collectAssigns(h.Body, into)
			}
		}
	}
}

// builtQuery says how q is built from pieces ("" when it is a literal or
// cannot be told): "an f-string", "+ concatenation", "% formatting",
// ".format()".
func builtQuery(q pyparse.Expr, assigns map[string][]*pyparse.Assign, before, depth int) string {
	if depth > 5 {
		return ""
	}
	switch q := q.(type) {
	case *pyparse.FString:
		for _, p := range q.Parts {
			if _, ok := p.(*pyparse.Const); !ok {
				return "an f-string"
			}
		}
	case *pyparse.BinOp:
		switch q.Op {
		case "%":
			if isStrLike(q.L, assigns, before, depth) {
				return "% formatting"
			}
		case "+":
			if !isConstStr(q.L) || !isConstStr(q.R) {
				if isStrLike(q.L, assigns, before, depth) || isStrLike(q.R, assigns, before, depth) {
					return "+ concatenation"
				}
			}
		}
	case *pyparse.Call:
		if at, ok := q.Func.(*pyparse.Attribute); ok && at.Name == "format" && isStrLike(at.X, assigns, before, depth) {
			return ".format()"
		}
		if at, ok := q.Func.(*pyparse.Attribute); ok && at.Name == "join" {
			for _, a := range q.Args {
				if how := builtQuery(a, assigns, before, depth+1); how != "" {
					return how
				}
			}
		}
	case *pyparse.List:
		for _, e := range q.Elts {
			if how := builtQuery(e, assigns, before, depth+1); how != "" {
				return how
			}
		}
	case *pyparse.Dict:
		for _, e := range q.Values {
			if how := builtQuery(e, assigns, before, depth+1); how != "" {
				return how
			}
		}
	case *pyparse.Name:
		// The last assignment before the call.
		var last *pyparse.Assign
		for _, as := range assigns[q.ID] {
			if as.Line < before && (last == nil || as.Line > last.Line) {
				last = as
			}
		}
		if last != nil {
			return builtQuery(last.Value, assigns, last.Line, depth+1)
		}
	}
	return ""
}

func isConstStr(x pyparse.Expr) bool {
	c, ok := x.(*pyparse.Const)
	return ok && c.Kind == "str"
}

// isStrLike reports whether x is (or is built from) a string.
func isStrLike(x pyparse.Expr, assigns map[string][]*pyparse.Assign, before, depth int) bool {
	switch x := x.(type) {
	case *pyparse.Const:
		return x.Kind == "str"
	case *pyparse.FString:
		return true
	case *pyparse.BinOp:
		return isStrLike(x.L, assigns, before, depth) || isStrLike(x.R, assigns, before, depth)
	case *pyparse.Name:
		if depth > 5 {
			return false
		}
		var last *pyparse.Assign
		for _, as := range assigns[x.ID] {
			if as.Line <= before && (last == nil || as.Line > last.Line) {
				last = as
			}
		}
		return last != nil && last.Value != nil && isStrLike(last.Value, assigns, last.Line-1, depth+1)
	}
	return false
}
