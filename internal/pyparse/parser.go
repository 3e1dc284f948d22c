package pyparse

import (
	"fmt"
	"strings"
)

// Parse parses a Python module. It never fails as a whole: statements it
// cannot parse or does not model are BadStmts and listed in Errors (those
// not modelled, such as match, are not errors).
func Parse(src string) *Module {
	toks, terrs := Tokenize(src)
	p := &parser{toks: toks}
	m := &Module{Errors: terrs}
	for p.peek().Kind != EOF {
		if p.peek().Kind == NEWLINE || p.peek().Kind == INDENT || p.peek().Kind == DEDENT {
			p.next()
			continue
		}
		m.Body = append(m.Body, p.stmtRecover(&m.Errors)...)
	}
	return m
}

// ParseExpr parses one expression (an f-string field's source); line and
// col place it in its file.
func ParseExpr(src string, line, col int) (Expr, error) {
	toks, errs := Tokenize("(" + src + "\n)")
	if len(errs) > 0 {
		return nil, errs[0]
	}
	for i := range toks {
		if toks[i].Line == 1 {
			toks[i].Col += col - 1
		}
		toks[i].Line += line - 1
	}
	p := &parser{toks: toks}
	var e Expr
	err := p.try(func() { e = p.starExprs() })
	return e, err
}

type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

type parser struct {
	toks []Token
	i    int
	// depth counts nested blocks, to bound recursion on hostile input.
	depth int
}

func (p *parser) peek() Token { return p.toks[p.i] }
func (p *parser) peekN(n int) Token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() Token {
	t := p.toks[p.i]
	if t.Kind != EOF {
		p.i++
	}
	return t
}

func (p *parser) fail(t Token, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if t.Kind == ERRORTOKEN {
		msg = t.Err
	}
	panic(&syntaxError{line: t.Line, msg: msg})
}

// try runs f, turning a syntax error into an error (and restoring nothing).
func (p *parser) try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*syntaxError)
			if !ok {
				panic(r)
			}
			err = se
		}
	}()
	f()
	return nil
}

func (p *parser) isOp(v string) bool {
	t := p.peek()
	return t.Kind == OP && t.Val == v
}

func (p *parser) isKw(v string) bool {
	t := p.peek()
	return t.Kind == NAME && t.Val == v
}

func (p *parser) acceptOp(v string) bool {
	if p.isOp(v) {
		p.next()
		return true
	}
	return false
}

func (p *parser) acceptKw(v string) bool {
	if p.isKw(v) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectOp(v string) Token {
	t := p.peek()
	if t.Kind != OP || t.Val != v {
		p.fail(t, "expected %q, found %s", v, describe(t))
	}
	return p.next()
}

func (p *parser) expectKw(v string) {
	if !p.acceptKw(v) {
		p.fail(p.peek(), "expected %q, found %s", v, describe(p.peek()))
	}
}

func (p *parser) expectName() Token {
	t := p.peek()
	if t.Kind != NAME || keywords[t.Val] {
		p.fail(t, "expected a name, found %s", describe(t))
	}
	return p.next()
}

func describe(t Token) string {
	switch t.Kind {
	case OP, NAME, NUMBER:
		return fmt.Sprintf("%q", t.Val)
	case STRING:
		return "a string"
	}
	return t.Kind.String()
}

var keywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

func pos(t Token) Pos { return Pos{Line: t.Line, Col: t.Col} }

// stmtRecover parses one statement; on a syntax error it records it, skips
// the rest of the logical line (and the block it opens) and returns a BadStmt.
func (p *parser) stmtRecover(errs *[]error) (out []Stmt) {
	start := p.i
	first := p.peek()
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*syntaxError)
			if !ok {
				panic(r)
			}
			*errs = append(*errs, se)
			p.i = start
			p.skipStatement()
			out = []Stmt{&BadStmt{Pos: pos(first), Reason: se.msg}}
		}
	}()
	if first.Kind == NAME && (first.Val == "match" || first.Val == "type") && p.softKeywordStmt() {
		reason := "match statement: not modelled"
		if first.Val == "type" {
			reason = "type alias: not modelled"
		}
		p.skipStatement()
		return []Stmt{&BadStmt{Pos: pos(first), Reason: reason}}
	}
	return p.stmt()
}

// softKeywordStmt tells a match or type statement from an expression
// statement using the name: "match x:" ends its line with ':' and the
// token after the keyword starts an expression.
func (p *parser) softKeywordStmt() bool {
	nt := p.peekN(1)
	switch nt.Kind {
	case NAME, NUMBER, STRING:
	case OP:
		switch nt.Val {
		case "(", "[", "{", "-", "*", "...":
		default:
			return false
		}
	default:
		return false
	}
	if p.peek().Val == "type" {
		return nt.Kind == NAME && p.peekN(2).Kind == OP && (p.peekN(2).Val == "=" || p.peekN(2).Val == "[")
	}
	if nt.Kind == NAME && keywords[nt.Val] && nt.Val != "not" && nt.Val != "None" && nt.Val != "True" && nt.Val != "False" && nt.Val != "lambda" {
		return false // match in x, match if ...
	}
	// The logical line must end with ':'.
	var last Token
	for j := p.i; j < len(p.toks); j++ {
		if p.toks[j].Kind == NEWLINE || p.toks[j].Kind == EOF {
			break
		}
		last = p.toks[j]
	}
	return last.Kind == OP && last.Val == ":"
}

// skipStatement skips to the end of the current logical line, and past the
// indented block that follows it.
func (p *parser) skipStatement() {
	for p.peek().Kind != NEWLINE && p.peek().Kind != EOF {
		p.next()
	}
	p.next()
	if p.peek().Kind == INDENT {
		depth := 0
		for p.peek().Kind != EOF {
			switch p.next().Kind {
			case INDENT:
				depth++
			case DEDENT:
				depth--
			}
			if depth == 0 {
				return
			}
		}
	}
}

func (p *parser) stmt() []Stmt {
	t := p.peek()
	if t.Kind == NAME {
		switch t.Val {
		case "if":
			return []Stmt{p.ifStmt()}
		case "while":
			p.next()
			s := &While{Pos: pos(t), Test: p.namedExpr()}
			s.Body = p.block()
			if p.isKw("else") {
				p.next()
				s.Else = p.block()
			}
			return []Stmt{s}
		case "for":
			return []Stmt{p.forStmt(false)}
		case "try":
			return []Stmt{p.tryStmt()}
		case "with":
			return []Stmt{p.withStmt()}
		case "def":
			return []Stmt{p.funcDef(nil, false)}
		case "class":
			return []Stmt{p.classDef(nil)}
		case "async":
			p.next()
			switch {
			case p.isKw("def"):
				return []Stmt{p.funcDef(nil, true)}
			case p.isKw("for"):
				return []Stmt{p.forStmt(true)}
			case p.isKw("with"):
				return []Stmt{p.withStmt()}
			}
			p.fail(p.peek(), "expected def, for or with after async")
		}
	}
	if t.Kind == OP && t.Val == "@" {
		var decos []Expr
		for p.acceptOp("@") {
			decos = append(decos, p.namedExpr())
			p.expectNewline()
		}
		switch {
		case p.isKw("def"):
			return []Stmt{p.funcDef(decos, false)}
		case p.isKw("async"):
			p.next()
			return []Stmt{p.funcDef(decos, true)}
		case p.isKw("class"):
			return []Stmt{p.classDef(decos)}
		}
		p.fail(p.peek(), "expected def or class after a decorator")
	}
	return p.simpleStmts()
}

func (p *parser) expectNewline() {
	t := p.peek()
	if t.Kind != NEWLINE && t.Kind != EOF {
		p.fail(t, "expected end of line, found %s", describe(t))
	}
	p.next()
}

func (p *parser) simpleStmts() []Stmt {
	var out []Stmt
	for {
		out = append(out, p.smallStmt())
		if !p.acceptOp(";") {
			break
		}
		if p.peek().Kind == NEWLINE || p.peek().Kind == EOF {
			break
		}
	}
	p.expectNewline()
	return out
}

func (p *parser) smallStmt() Stmt {
	t := p.peek()
	if t.Kind == NAME {
		switch t.Val {
		case "pass", "break", "continue":
			p.next()
			return &Simple{Pos: pos(t), Keyword: t.Val}
		case "return":
			p.next()
			s := &Return{Pos: pos(t)}
			if !p.atStmtEnd() {
				s.Value = p.starExprs()
			}
			return s
		case "raise":
			p.next()
			s := &Simple{Pos: pos(t), Keyword: "raise"}
			if !p.atStmtEnd() {
				s.Exprs = append(s.Exprs, p.test())
				if p.acceptKw("from") {
					s.Exprs = append(s.Exprs, p.test())
				}
			}
			return s
		case "global", "nonlocal":
			p.next()
			s := &Simple{Pos: pos(t), Keyword: t.Val}
			for {
				s.Names = append(s.Names, p.expectName().Val)
				if !p.acceptOp(",") {
					break
				}
			}
			return s
		case "del":
			p.next()
			return &Simple{Pos: pos(t), Keyword: "del", Exprs: []Expr{p.starExprs()}}
		case "assert":
			p.next()
			s := &Simple{Pos: pos(t), Keyword: "assert", Exprs: []Expr{p.test()}}
			if p.acceptOp(",") {
				s.Exprs = append(s.Exprs, p.test())
			}
			return s
		case "import":
			p.next()
			s := &Import{Pos: pos(t)}
			for {
				at := p.peek()
				a := Alias{Pos: pos(at), Name: p.dottedName()}
				if p.acceptKw("as") {
					a.AsName = p.expectName().Val
				}
				s.Names = append(s.Names, a)
				if !p.acceptOp(",") {
					break
				}
			}
			return s
		case "from":
			return p.importFrom()
		}
	}
	if p.isKw("yield") {
		y := p.yieldExpr()
		return &ExprStmt{Pos: y.Position(), X: y}
	}
	x := p.starExprs()
	switch {
	case p.isOp("="):
		s := &Assign{Pos: x.Position(), Targets: []Expr{x}}
		for p.acceptOp("=") {
			var v Expr
			if p.isKw("yield") {
				v = p.yieldExpr()
			} else {
				v = p.starExprs()
			}
			s.Targets = append(s.Targets, v)
		}
		s.Value = s.Targets[len(s.Targets)-1]
		s.Targets = s.Targets[:len(s.Targets)-1]
		return s
	case p.peek().Kind == OP && len(p.peek().Val) >= 2 && strings.HasSuffix(p.peek().Val, "=") && !strings.Contains("== <= >= != :=", p.peek().Val):
		op := p.next().Val
		var v Expr
		if p.isKw("yield") {
			v = p.yieldExpr()
		} else {
			v = p.starExprs()
		}
		return &AugAssign{Pos: x.Position(), Target: x, Op: strings.TrimSuffix(op, "="), Value: v}
	case p.isOp(":"):
		p.next()
		s := &AnnAssign{Pos: x.Position(), Target: x, Annotation: p.test()}
		if p.acceptOp("=") {
			s.Value = p.starExprs()
		}
		return s
	}
	return &ExprStmt{Pos: x.Position(), X: x}
}

func (p *parser) atStmtEnd() bool {
	t := p.peek()
	return t.Kind == NEWLINE || t.Kind == EOF || t.Kind == OP && t.Val == ";"
}

func (p *parser) dottedName() string {
	name := p.expectName().Val
	for p.isOp(".") {
		p.next()
		name += "." + p.expectName().Val
	}
	return name
}

func (p *parser) importFrom() Stmt {
	t := p.next()
	s := &ImportFrom{Pos: pos(t)}
	for p.isOp(".") || p.isOp("...") {
		s.Level += len(p.next().Val)
	}
	if !p.isKw("import") {
		s.Module = p.dottedName()
	}
	p.expectKw("import")
	if p.acceptOp("*") {
		s.Star = true
		return s
	}
	paren := p.acceptOp("(")
	for {
		at := p.peek()
		a := Alias{Pos: pos(at), Name: p.expectName().Val}
		if p.acceptKw("as") {
			a.AsName = p.expectName().Val
		}
		s.Names = append(s.Names, a)
		if !p.acceptOp(",") {
			break
		}
		if paren && p.isOp(")") {
			break
		}
	}
	if paren {
		p.expectOp(")")
	}
	return s
}

// block parses ':' and then an indented block or simple statements on the
// same line.
func (p *parser) block() []Stmt {
	p.expectOp(":")
	if p.peek().Kind != NEWLINE {
		return p.simpleStmts()
	}
	p.next()
	if p.peek().Kind != INDENT {
		p.fail(p.peek(), "expected an indented block")
	}
	p.next()
	p.depth++
	if p.depth > 200 {
		p.fail(p.peek(), "blocks nested too deeply")
	}
	defer func() { p.depth-- }()
	var body []Stmt
	for p.peek().Kind != DEDENT && p.peek().Kind != EOF {
		if p.peek().Kind == NEWLINE {
			p.next()
			continue
		}
		t := p.peek()
		if t.Kind == NAME && (t.Val == "match" || t.Val == "type") && p.softKeywordStmt() {
			p.skipStatement()
			body = append(body, &BadStmt{Pos: pos(t), Reason: t.Val + " statement: not modelled"})
			continue
		}
		body = append(body, p.stmt()...)
	}
	p.next()
	return body
}

func (p *parser) ifStmt() Stmt {
	t := p.next() // if or elif
	s := &If{Pos: pos(t), Test: p.namedExpr()}
	s.Body = p.block()
	switch {
	case p.isKw("elif"):
		s.Else = []Stmt{p.ifStmt()}
	case p.isKw("else"):
		p.next()
		s.Else = p.block()
	}
	return s
}

func (p *parser) forStmt(async bool) Stmt {
	t := p.next()
	s := &For{Pos: pos(t)}
	s.Target = p.targetList()
	p.expectKw("in")
	s.Iter = p.starExprs()
	s.Body = p.block()
	if p.acceptKw("else") {
		s.Else = p.block()
	}
	return s
}

// targetList parses for-loop and comprehension targets (stopping before "in").
func (p *parser) targetList() Expr {
	first := p.peek()
	var elts []Expr
	for {
		if p.isOp("*") {
			st := p.next()
			elts = append(elts, &Starred{Pos: pos(st), X: p.bitOr()})
		} else {
			elts = append(elts, p.bitOr())
		}
		if !p.acceptOp(",") || p.isKw("in") {
			break
		}
	}
	if len(elts) == 1 && !(p.toks[p.i-1].Kind == OP && p.toks[p.i-1].Val == ",") {
		return elts[0]
	}
	return &Tuple{Pos: pos(first), Elts: elts}
}

func (p *parser) tryStmt() Stmt {
	t := p.next()
	s := &Try{Pos: pos(t)}
	s.Body = p.block()
	for p.isKw("except") {
		ht := p.next()
		p.acceptOp("*") // except*
		h := Handler{Pos: pos(ht)}
		if !p.isOp(":") {
			h.Type = p.test()
			if p.acceptOp(",") { // except (A, B) spelled without parentheses (Python 2)
				p.fail(p.peek(), "multiple exception types must be parenthesized")
			}
			if p.acceptKw("as") {
				h.Name = p.expectName().Val
			}
		}
		h.Body = p.block()
		s.Handlers = append(s.Handlers, h)
	}
	if p.acceptKw("else") {
		s.Else = p.block()
	}
	if p.acceptKw("finally") {
		s.Finally = p.block()
	}
	if len(s.Handlers) == 0 && s.Finally == nil {
		p.fail(p.peek(), "expected except or finally")
	}
	return s
}

func (p *parser) withStmt() Stmt {
	t := p.next()
	s := &With{Pos: pos(t)}
	// with (a as b, c as d): the parenthesised form of 3.9+.
	if p.isOp("(") {
		save := p.i
		err := p.try(func() {
			p.next()
			s.Items = nil
			for !p.isOp(")") {
				s.Items = append(s.Items, p.withItem())
				if !p.acceptOp(",") {
					break
				}
			}
			p.expectOp(")")
			if !p.isOp(":") {
				p.fail(p.peek(), "not a parenthesised with")
			}
		})
		if err != nil {
			p.i = save
			s.Items = nil
		}
	}
	if s.Items == nil {
		for {
			s.Items = append(s.Items, p.withItem())
			if !p.acceptOp(",") {
				break
			}
		}
	}
	s.Body = p.block()
	return s
}

func (p *parser) withItem() WithItem {
	it := WithItem{Context: p.test()}
	if p.acceptKw("as") {
		it.Var = p.bitOr()
	}
	return it
}

func (p *parser) funcDef(decos []Expr, async bool) Stmt {
	t := p.next() // def
	s := &FuncDef{Pos: pos(t), Decorators: decos, Async: async}
	if len(decos) > 0 {
		s.Pos = decos[0].Position()
		s.Pos.Col-- // the '@'
	}
	s.Name = p.expectName().Val
	p.skipTypeParams()
	p.expectOp("(")
	s.Params = p.params(")")
	p.expectOp(")")
	if p.acceptOp("->") {
		s.Returns = p.test()
	}
	s.Body = p.block()
	return s
}

func (p *parser) skipTypeParams() {
	if !p.isOp("[") {
		return
	}
	depth := 0
	for {
		t := p.next()
		if t.Kind == EOF || t.Kind == NEWLINE {
			p.fail(t, "unterminated type parameters")
		}
		if t.Kind == OP && t.Val == "[" {
			depth++
		}
		if t.Kind == OP && t.Val == "]" {
			depth--
			if depth == 0 {
				return
			}
		}
	}
}

// params parses a parameter list up to (not including) end: ")" for a
// def, ":" for a lambda (annotations only in a def).
func (p *parser) params(end string) []Param {
	var out []Param
	for !p.isOp(end) {
		t := p.peek()
		switch {
		case p.acceptOp("/"):
		case p.isOp("*") || p.isOp("**"):
			kind := p.next().Val
			pa := Param{Pos: pos(t), Kind: kind}
			if p.peek().Kind == NAME {
				pa.Name = p.expectName().Val
				if end == ")" && p.acceptOp(":") {
					pa.Annotation = p.test()
				}
			}
			out = append(out, pa)
		default:
			pa := Param{Pos: pos(t), Name: p.expectName().Val}
			if end == ")" && p.acceptOp(":") {
				pa.Annotation = p.test()
			}
			if p.acceptOp("=") {
				pa.Default = p.test()
			}
			out = append(out, pa)
		}
		if !p.acceptOp(",") {
			break
		}
	}
	return out
}

func (p *parser) classDef(decos []Expr) Stmt {
	t := p.next()
	s := &ClassDef{Pos: pos(t), Decorators: decos}
	if len(decos) > 0 {
		s.Pos = decos[0].Position()
		s.Pos.Col--
	}
	s.Name = p.expectName().Val
	p.skipTypeParams()
	if p.acceptOp("(") {
		s.Bases, s.Keywords = p.args()
		p.expectOp(")")
	}
	s.Body = p.block()
	return s
}

// Expressions.

// starExprs parses a comma-separated list of expressions (starred allowed);
// more than one (or a trailing comma) makes a Tuple.
func (p *parser) starExprs() Expr {
	first := p.peek()
	x := p.starExpr()
	if !p.isOp(",") {
		return x
	}
	elts := []Expr{x}
	for p.acceptOp(",") {
		if p.exprEnds() {
			break
		}
		elts = append(elts, p.starExpr())
	}
	return &Tuple{Pos: pos(first), Elts: elts}
}

// exprEnds reports whether the next token cannot start an expression.
func (p *parser) exprEnds() bool {
	t := p.peek()
	switch t.Kind {
	case NEWLINE, EOF, INDENT, DEDENT:
		return true
	case OP:
		switch t.Val {
		case "(", "[", "{", "-", "+", "~", "*", "**", "...":
			return false
		}
		return true
	case NAME:
		switch t.Val {
		case "in", "if", "else", "for", "and", "or", "as", "from", "is", "async":
			return true
		}
	}
	return false
}

func (p *parser) starExpr() Expr {
	if p.isOp("*") {
		t := p.next()
		return &Starred{Pos: pos(t), X: p.bitOr()}
	}
	return p.namedExpr()
}

func (p *parser) namedExpr() Expr {
	t := p.peek()
	if t.Kind == NAME && !keywords[t.Val] && p.peekN(1).Kind == OP && p.peekN(1).Val == ":=" {
		p.next()
		p.next()
		return &NamedExpr{Pos: pos(t), Target: &Name{Pos: pos(t), ID: t.Val}, Value: p.test()}
	}
	return p.test()
}

// test is a full expression: lambda, or a conditional expression.
func (p *parser) test() Expr {
	t := p.peek()
	if t.Kind == NAME && t.Val == "lambda" {
		p.next()
		params := p.params(":")
		p.expectOp(":")
		return &Lambda{Pos: pos(t), Params: params, Body: p.test()}
	}
	x := p.orTest()
	if p.isKw("if") {
		p.next()
		cond := p.orTest()
		p.expectKw("else")
		return &IfExp{Pos: x.Position(), Test: cond, Body: x, Else: p.test()}
	}
	return x
}

// testNoCond is an expression without a conditional (comprehension ifs).
func (p *parser) testNoCond() Expr {
	if p.isKw("lambda") {
		return p.test()
	}
	return p.orTest()
}

func (p *parser) orTest() Expr {
	x := p.andTest()
	if !p.isKw("or") {
		return x
	}
	b := &BoolOp{Pos: x.Position(), Op: "or", Values: []Expr{x}}
	for p.acceptKw("or") {
		b.Values = append(b.Values, p.andTest())
	}
	return b
}

func (p *parser) andTest() Expr {
	x := p.notTest()
	if !p.isKw("and") {
		return x
	}
	b := &BoolOp{Pos: x.Position(), Op: "and", Values: []Expr{x}}
	for p.acceptKw("and") {
		b.Values = append(b.Values, p.notTest())
	}
	return b
}

func (p *parser) notTest() Expr {
	if p.isKw("not") {
		t := p.next()
		return &UnaryOp{Pos: pos(t), Op: "not", X: p.notTest()}
	}
	return p.comparison()
}

func (p *parser) comparison() Expr {
	x := p.bitOr()
	var c *Compare
	for {
		op := ""
		t := p.peek()
		switch {
		case t.Kind == OP && (t.Val == "<" || t.Val == ">" || t.Val == "==" || t.Val == ">=" || t.Val == "<=" || t.Val == "!="):
			op = t.Val
			p.next()
		case t.Kind == NAME && t.Val == "in":
			op = "in"
			p.next()
		case t.Kind == NAME && t.Val == "not" && p.peekN(1).Kind == NAME && p.peekN(1).Val == "in":
			op = "not in"
			p.next()
			p.next()
		case t.Kind == NAME && t.Val == "is":
			p.next()
			op = "is"
			if p.acceptKw("not") {
				op = "is not"
			}
		}
		if op == "" {
			break
		}
		if c == nil {
			c = &Compare{Pos: x.Position(), L: x}
		}
		c.Ops = append(c.Ops, op)
		c.Rs = append(c.Rs, p.bitOr())
	}
	if c == nil {
		return x
	}
	return c
}

// binary builds a left-associative chain of the operators ops over sub.
func (p *parser) binary(sub func() Expr, ops ...string) Expr {
	x := sub()
	for {
		t := p.peek()
		if t.Kind != OP {
			return x
		}
		found := false
		for _, o := range ops {
			if t.Val == o {
				found = true
				break
			}
		}
		if !found {
			return x
		}
		p.next()
		x = &BinOp{Pos: x.Position(), Op: t.Val, L: x, R: sub()}
	}
}

func (p *parser) bitOr() Expr  { return p.binary(p.bitXor, "|") }
func (p *parser) bitXor() Expr { return p.binary(p.bitAnd, "^") }
func (p *parser) bitAnd() Expr { return p.binary(p.shift, "&") }
func (p *parser) shift() Expr  { return p.binary(p.arith, "<<", ">>") }
func (p *parser) arith() Expr  { return p.binary(p.term, "+", "-") }
func (p *parser) term() Expr   { return p.binary(p.factor, "*", "/", "//", "%", "@") }

func (p *parser) factor() Expr {
	t := p.peek()
	if t.Kind == OP && (t.Val == "-" || t.Val == "+" || t.Val == "~") {
		p.next()
		p.depth++
		if p.depth > 500 {
			p.fail(t, "expression nested too deeply")
		}
		defer func() { p.depth-- }()
		return &UnaryOp{Pos: pos(t), Op: t.Val, X: p.factor()}
	}
	return p.power()
}

func (p *parser) power() Expr {
	var x Expr
	if p.isKw("await") {
		t := p.next()
		x = &Await{Pos: pos(t), X: p.primary()}
	} else {
		x = p.primary()
	}
	if p.acceptOp("**") {
		return &BinOp{Pos: x.Position(), Op: "**", L: x, R: p.factor()}
	}
	return x
}

func (p *parser) primary() Expr {
	x := p.atom()
	for {
		t := p.peek()
		if t.Kind != OP {
			return x
		}
		switch t.Val {
		case ".":
			p.next()
			x = &Attribute{Pos: x.Position(), X: x, Name: p.expectNameOrKw().Val}
		case "(":
			p.next()
			c := &Call{Pos: x.Position(), Func: x}
			c.Args, c.Keywords = p.args()
			p.expectOp(")")
			x = c
		case "[":
			p.next()
			x = &Subscript{Pos: x.Position(), X: x, Index: p.slices()}
			p.expectOp("]")
		default:
			return x
		}
	}
}

func (p *parser) expectNameOrKw() Token {
	if p.peek().Kind != NAME {
		p.fail(p.peek(), "expected a name, found %s", describe(p.peek()))
	}
	return p.next()
}

// args parses call arguments up to (not including) ')'.
func (p *parser) args() ([]Expr, []Keyword) {
	var args []Expr
	var kws []Keyword
	for !p.isOp(")") {
		t := p.peek()
		switch {
		case p.isOp("*"):
			p.next()
			args = append(args, &Starred{Pos: pos(t), X: p.test()})
		case p.isOp("**"):
			p.next()
			kws = append(kws, Keyword{Pos: pos(t), Value: p.test()})
		case t.Kind == NAME && p.peekN(1).Kind == OP && p.peekN(1).Val == "=":
			p.next()
			p.next()
			kws = append(kws, Keyword{Pos: pos(t), Name: t.Val, Value: p.test()})
		default:
			x := p.namedExpr()
			if p.isKw("for") || p.isKw("async") {
				x = p.comp("gen", pos(t), nil, x)
			}
			args = append(args, x)
		}
		if !p.acceptOp(",") {
			break
		}
	}
	return args, kws
}

func (p *parser) slices() Expr {
	first := p.peek()
	x := p.slice()
	if !p.isOp(",") {
		return x
	}
	elts := []Expr{x}
	for p.acceptOp(",") {
		if p.isOp("]") {
			break
		}
		elts = append(elts, p.slice())
	}
	return &Tuple{Pos: pos(first), Elts: elts}
}

func (p *parser) slice() Expr {
	t := p.peek()
	var lo Expr
	if !p.isOp(":") {
		lo = p.starExpr()
		if !p.isOp(":") {
			return lo
		}
	}
	s := &Slice{Pos: pos(t), Lo: lo}
	p.expectOp(":")
	if !p.isOp("]") && !p.isOp(",") && !p.isOp(":") {
		s.Hi = p.test()
	}
	if p.acceptOp(":") && !p.isOp("]") && !p.isOp(",") {
		s.Step = p.test()
	}
	return s
}

func (p *parser) yieldExpr() Expr {
	t := p.next()
	y := &Yield{Pos: pos(t)}
	if p.acceptKw("from") {
		y.From = true
		y.X = p.test()
	} else if !p.exprEnds() {
		y.X = p.starExprs()
	}
	return y
}

func (p *parser) atom() Expr {
	t := p.peek()
	switch t.Kind {
	case NAME:
		switch t.Val {
		case "None", "True", "False":
			p.next()
			return &Const{Pos: pos(t), Kind: map[string]string{"None": "None", "True": "bool", "False": "bool"}[t.Val], Raw: t.Val, Bool: t.Val == "True"}
		}
		if keywords[t.Val] {
			p.fail(t, "unexpected %q", t.Val)
		}
		p.next()
		return &Name{Pos: pos(t), ID: t.Val}
	case NUMBER:
		p.next()
		kind := "int"
		low := strings.ToLower(t.Val)
		switch {
		case strings.HasSuffix(low, "j"):
			kind = "complex"
		case !strings.HasPrefix(low, "0x") && strings.ContainsAny(low, ".e"):
			kind = "float"
		}
		return &Const{Pos: pos(t), Kind: kind, Raw: t.Val}
	case STRING:
		return p.strings()
	case OP:
		switch t.Val {
		case "...":
			p.next()
			return &Const{Pos: pos(t), Kind: "...", Raw: "..."}
		case "(":
			p.next()
			if p.acceptOp(")") {
				return &Tuple{Pos: pos(t)}
			}
			if p.isKw("yield") {
				y := p.yieldExpr()
				p.expectOp(")")
				return y
			}
			first := p.starExpr()
			if p.isKw("for") || p.isKw("async") {
				c := p.comp("gen", pos(t), nil, first)
				p.expectOp(")")
				return c
			}
			if p.acceptOp(")") {
				return first
			}
			elts := []Expr{first}
			for p.acceptOp(",") {
				if p.isOp(")") {
					break
				}
				elts = append(elts, p.starExpr())
			}
			p.expectOp(")")
			return &Tuple{Pos: pos(t), Elts: elts}
		case "[":
			p.next()
			if p.acceptOp("]") {
				return &List{Pos: pos(t)}
			}
			first := p.starExpr()
			if p.isKw("for") || p.isKw("async") {
				c := p.comp("list", pos(t), nil, first)
				p.expectOp("]")
				return c
			}
			elts := []Expr{first}
			for p.acceptOp(",") {
				if p.isOp("]") {
					break
				}
				elts = append(elts, p.starExpr())
			}
			p.expectOp("]")
			return &List{Pos: pos(t), Elts: elts}
		case "{":
			return p.braces()
		}
	}
	p.fail(t, "unexpected %s", describe(t))
	return nil
}

func (p *parser) braces() Expr {
	t := p.next()
	if p.acceptOp("}") {
		return &Dict{Pos: pos(t)}
	}
	var key, val Expr
	dict := false
	if p.acceptOp("**") {
		val = p.bitOr()
		dict = true
	} else {
		key = p.starExpr()
		if p.acceptOp(":") {
			val = p.test()
			dict = true
		}
	}
	if p.isKw("for") || p.isKw("async") {
		var c Expr
		if dict {
			c = p.comp("dict", pos(t), key, val)
		} else {
			c = p.comp("set", pos(t), nil, key)
		}
		p.expectOp("}")
		return c
	}
	if dict {
		d := &Dict{Pos: pos(t), Keys: []Expr{key}, Values: []Expr{val}}
		for p.acceptOp(",") {
			if p.isOp("}") {
				break
			}
			if p.acceptOp("**") {
				d.Keys = append(d.Keys, nil)
				d.Values = append(d.Values, p.bitOr())
				continue
			}
			k := p.test()
			p.expectOp(":")
			d.Keys = append(d.Keys, k)
			d.Values = append(d.Values, p.test())
		}
		p.expectOp("}")
		return d
	}
	s := &Set{Pos: pos(t), Elts: []Expr{key}}
	for p.acceptOp(",") {
		if p.isOp("}") {
			break
		}
		s.Elts = append(s.Elts, p.starExpr())
	}
	p.expectOp("}")
	return s
}

func (p *parser) comp(kind string, at Pos, key, elt Expr) Expr {
	c := &Comp{Pos: at, Kind: kind, Key: key, Elt: elt}
	for p.isKw("for") || p.isKw("async") {
		p.acceptKw("async")
		p.expectKw("for")
		f := CompFor{Target: p.targetList()}
		p.expectKw("in")
		f.Iter = p.orTest()
		for p.isKw("if") {
			p.next()
			f.Ifs = append(f.Ifs, p.testNoCond())
		}
		c.Fors = append(c.Fors, f)
	}
	return c
}

// strings joins adjacent string literals; any f-string among them makes
// the whole an FString.
func (p *parser) strings() Expr {
	first := p.peek()
	var parts []Expr
	isF, isBytes := false, false
	var sb strings.Builder
	for p.peek().Kind == STRING {
		t := p.next()
		lit := t.Str
		isBytes = isBytes || lit.Bytes
		if !lit.F {
			sb.WriteString(lit.Value)
			parts = append(parts, &Const{Pos: pos(t), Kind: "str", Str: lit.Value})
			continue
		}
		isF = true
		p.fparts(&parts, lit.Parts, t)
	}
	if !isF {
		kind := "str"
		if isBytes {
			kind = "bytes"
		}
		return &Const{Pos: pos(first), Kind: kind, Str: sb.String()}
	}
	return &FString{Pos: pos(first), Parts: parts}
}

func (p *parser) fparts(out *[]Expr, parts []FPart, t Token) {
	for _, fp := range parts {
		if fp.Expr == "" && fp.Lit != "" {
			*out = append(*out, &Const{Pos: pos(t), Kind: "str", Str: fp.Lit})
			continue
		}
		if fp.Expr == "" {
			continue
		}
		e, err := ParseExpr(fp.Expr, fp.ExprLine, fp.ExprCol)
		if err != nil {
			p.fail(Token{Line: fp.ExprLine}, "f-string expression: %v", err)
		}
		*out = append(*out, e)
		p.fparts(out, fp.Spec, t)
	}
}
