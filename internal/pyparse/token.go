// Package pyparse is a pure-Go tokenizer and parser for Python 3 source
// (up to 3.12: f-strings with nested quotes, walrus, annotated and
// augmented assignments, positional-only parameters), enough to read a
// Django project's settings and code without Python. Every node has its
// line. A statement the parser does not model (match, type aliases) or
// cannot parse becomes a BadStmt and the rest of the file is still read.
package pyparse

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is a token's kind.
type Kind int

// Token kinds.
const (
	EOF Kind = iota
	NEWLINE
	INDENT
	DEDENT
	NAME
	NUMBER
	STRING
	OP
	ERRORTOKEN
)

func (k Kind) String() string {
	return [...]string{"end of file", "newline", "indent", "dedent", "name", "number", "string", "operator", "error"}[k]
}

// Token is one token with its position (1-based line, 0-based column).
type Token struct {
	Kind Kind
	Val  string // the source text (an operator, a name, a string literal with its quotes)
	Line int
	Col  int
	Str  *StrLit // for STRING
	Err  string  // for ERRORTOKEN
}

// StrLit is a string literal, decoded.
type StrLit struct {
	Prefix string // lower-cased prefix letters: "", "r", "b", "rb", "f", "rf", "u"
	// Value is the decoded value; for an f-string, its literal parts joined.
	Value string
	Bytes bool
	F     bool
	// Parts are an f-string's pieces: literal text and replacement fields.
	Parts []FPart
}

// FPart is a piece of an f-string: literal text, or a replacement field
// whose expression source starts at ExprLine/ExprCol.
type FPart struct {
	Lit      string
	Expr     string
	ExprLine int
	ExprCol  int
	Spec     []FPart // the format spec, itself a small f-string
}

// Tokenize splits src into tokens. Errors (an unterminated string, a
// stray character, bad indentation) become ERRORTOKENs in the stream and
// are listed; tokenizing goes on.
func Tokenize(src string) ([]Token, []error) {
	t := &tokenizer{src: src, line: 1, indents: []int{0}, atLineStart: true}
	t.run()
	return t.toks, t.errs
}

type tokenizer struct {
	src         string
	pos         int
	line        int
	lineStart   int
	depth       int
	indents     []int
	atLineStart bool
	toks        []Token
	errs        []error
}

func (t *tokenizer) emit(k Kind, val string, line, col int) *Token {
	t.toks = append(t.toks, Token{Kind: k, Val: val, Line: line, Col: col})
	return &t.toks[len(t.toks)-1]
}

func (t *tokenizer) errorf(line, col int, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	t.errs = append(t.errs, fmt.Errorf("line %d: %s", line, msg))
	tok := t.emit(ERRORTOKEN, "", line, col)
	tok.Err = msg
}

func (t *tokenizer) newline() {
	t.line++
	t.lineStart = t.pos
}

var ops3 = []string{"**=", "//=", ">>=", "<<=", "..."}
var ops2 = []string{"->", ":=", "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@="}

func (t *tokenizer) run() {
	src := t.src
	for {
		if t.atLineStart && t.depth == 0 {
			if !t.indentation() {
				break
			}
		}
		if t.pos >= len(src) {
			break
		}
		c := src[t.pos]
		col := t.pos - t.lineStart
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			t.pos++
		case c == '#':
			for t.pos < len(src) && src[t.pos] != '\n' && src[t.pos] != '\r' {
				t.pos++
			}
		case c == '\r' || c == '\n':
			if c == '\r' && t.pos+1 < len(src) && src[t.pos+1] == '\n' {
				t.pos++
			}
			t.pos++
			if t.depth == 0 {
				t.emit(NEWLINE, "", t.line, col)
				t.atLineStart = true
			}
			t.newline()
		case c == '\\':
			// Explicit line joining.
			p := t.pos + 1
			if p < len(src) && src[p] == '\r' {
				p++
			}
			if p < len(src) && src[p] == '\n' {
				t.pos = p + 1
				t.newline()
			} else if p >= len(src) {
				t.pos = p
			} else {
				t.errorf(t.line, col, "unexpected character after line continuation")
				t.pos++
			}
		case isIdentStart(src, t.pos):
			start := t.pos
			for t.pos < len(src) && isIdentChar(src, t.pos) {
				_, n := utf8.DecodeRuneInString(src[t.pos:])
				t.pos += n
			}
			word := src[start:t.pos]
			if t.pos < len(src) && (src[t.pos] == '"' || src[t.pos] == '\'') && isStrPrefix(word) {
				t.pos = start
				t.str(strings.ToLower(word), len(word), col)
				continue
			}
			t.emit(NAME, word, t.line, col)
		case c >= '0' && c <= '9' || c == '.' && t.pos+1 < len(src) && src[t.pos+1] >= '0' && src[t.pos+1] <= '9':
			t.number(col)
		case c == '"' || c == '\'':
			t.str("", 0, col)
		default:
			op := ""
			for _, o := range ops3 {
				if strings.HasPrefix(src[t.pos:], o) {
					op = o
					break
				}
			}
			if op == "" {
				for _, o := range ops2 {
					if strings.HasPrefix(src[t.pos:], o) {
						op = o
						break
					}
				}
			}
			if op == "" && strings.ContainsRune("()[]{},:;.+-*/%&|^~<>=@!", rune(c)) {
				op = string(c)
			}
			if op == "" {
				r, n := utf8.DecodeRuneInString(src[t.pos:])
				t.errorf(t.line, col, "unexpected character %q", r)
				t.pos += n
				continue
			}
			switch op {
			case "(", "[", "{":
				t.depth++
			case ")", "]", "}":
				if t.depth > 0 {
					t.depth--
				}
			}
			t.emit(OP, op, t.line, col)
			t.pos += len(op)
		}
	}
	if n := len(t.toks); n > 0 && t.toks[n-1].Kind != NEWLINE && t.toks[n-1].Kind != DEDENT && t.toks[n-1].Kind != INDENT {
		t.emit(NEWLINE, "", t.line, t.pos-t.lineStart)
	}
	for len(t.indents) > 1 {
		t.indents = t.indents[:len(t.indents)-1]
		t.emit(DEDENT, "", t.line, 0)
	}
	t.emit(EOF, "", t.line, 0)
}

// indentation reads the indentation of a new logical line, skipping blank
// and comment-only lines, and emits INDENT/DEDENT. It returns false at the
// end of the input.
func (t *tokenizer) indentation() bool {
	src := t.src
	for {
		width := 0
		p := t.pos
		for p < len(src) {
			switch src[p] {
			case ' ':
				width++
			case '\t':
				width = (width/8 + 1) * 8
			case '\f':
				width = 0
			default:
				goto done
			}
			p++
		}
	done:
		if p >= len(src) {
			t.pos = p
			return false
		}
		switch src[p] {
		case '#':
			for p < len(src) && src[p] != '\n' && src[p] != '\r' {
				p++
			}
			fallthrough
		case '\r', '\n':
			if p < len(src) && src[p] == '\r' {
				p++
			}
			if p < len(src) && src[p] == '\n' {
				p++
			}
			t.pos = p
			t.newline()
			continue
		case '\\':
			// A continuation right at the start: treat as part of the line.
		}
		t.pos = p
		t.atLineStart = false
		cur := t.indents[len(t.indents)-1]
		switch {
		case width > cur:
			t.indents = append(t.indents, width)
			t.emit(INDENT, "", t.line, 0)
		case width < cur:
			for len(t.indents) > 1 && width < t.indents[len(t.indents)-1] {
				t.indents = t.indents[:len(t.indents)-1]
				t.emit(DEDENT, "", t.line, 0)
			}
			if width != t.indents[len(t.indents)-1] {
				t.errorf(t.line, 0, "unindent does not match any outer indentation level")
			}
		}
		return true
	}
}

func isIdentStart(s string, i int) bool {
	c := s[i]
	if c < utf8.RuneSelf {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r)
}

func isIdentChar(s string, i int) bool {
	c := s[i]
	if c < utf8.RuneSelf {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}

func isStrPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "br", "rb", "f", "fr", "rf":
		return true
	}
	return false
}

func (t *tokenizer) number(col int) {
	src := t.src
	start := t.pos
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' || c == '_' }
	if src[t.pos] == '0' && t.pos+1 < len(src) && strings.ContainsRune("xXoObB", rune(src[t.pos+1])) {
		t.pos += 2
		for t.pos < len(src) && (isDigit(src[t.pos]) || strings.ContainsRune("abcdefABCDEF", rune(src[t.pos]))) {
			t.pos++
		}
	} else {
		for t.pos < len(src) && isDigit(src[t.pos]) {
			t.pos++
		}
		if t.pos < len(src) && src[t.pos] == '.' {
			t.pos++
			for t.pos < len(src) && isDigit(src[t.pos]) {
				t.pos++
			}
		}
		if t.pos < len(src) && (src[t.pos] == 'e' || src[t.pos] == 'E') {
			p := t.pos + 1
			if p < len(src) && (src[p] == '+' || src[p] == '-') {
				p++
			}
			if p < len(src) && src[p] >= '0' && src[p] <= '9' {
				t.pos = p
				for t.pos < len(src) && isDigit(src[t.pos]) {
					t.pos++
				}
			}
		}
		if t.pos < len(src) && (src[t.pos] == 'j' || src[t.pos] == 'J') {
			t.pos++
		}
	}
	t.emit(NUMBER, src[start:t.pos], t.line, col)
}

// str reads a string literal whose prefix (plen bytes, lower-cased in
// prefix) starts at t.pos.
func (t *tokenizer) str(prefix string, plen int, col int) {
	start, line := t.pos, t.line
	t.pos += plen
	lit := &StrLit{Prefix: prefix, Bytes: strings.Contains(prefix, "b"), F: strings.Contains(prefix, "f")}
	raw := strings.Contains(prefix, "r")
	body, ok := t.strBody(lit, raw)
	if !ok {
		t.errorf(line, col, "unterminated string literal")
		return
	}
	if !lit.F {
		if raw {
			lit.Value = body
		} else {
			lit.Value = unescape(body)
		}
	}
	tok := t.emit(STRING, t.src[start:t.pos], line, col)
	tok.Str = lit
}

// strBody scans from the opening quote at t.pos to past the closing one and
// returns the raw body; for an f-string it fills lit.Parts.
func (t *tokenizer) strBody(lit *StrLit, raw bool) (string, bool) {
	src := t.src
	q := src[t.pos]
	triple := strings.HasPrefix(src[t.pos:], strings.Repeat(string(q), 3))
	closing := string(q)
	if triple {
		closing = strings.Repeat(string(q), 3)
	}
	t.pos += len(closing)
	bodyStart := t.pos
	var lb strings.Builder // an f-string's current literal part
	flushLit := func() {
		if lb.Len() > 0 {
			s := lb.String()
			if !raw {
				s = unescape(s)
			}
			lit.Parts = append(lit.Parts, FPart{Lit: s})
			lit.Value += s
			lb.Reset()
		}
	}
	for t.pos < len(src) {
		c := src[t.pos]
		switch {
		case strings.HasPrefix(src[t.pos:], closing):
			body := src[bodyStart:t.pos]
			t.pos += len(closing)
			if lit.F {
				flushLit()
			}
			return body, true
		case c == '\\':
			if t.pos+1 < len(src) {
				nl := src[t.pos+1] == '\n'
				lb.WriteString(src[t.pos : t.pos+2])
				t.pos += 2
				if nl {
					t.newline()
				}
			} else {
				t.pos++
			}
		case c == '\n' || c == '\r':
			if !triple {
				return "", false
			}
			lb.WriteByte(c)
			t.pos++
			if c == '\n' {
				t.newline()
			}
		case lit.F && c == '{':
			if t.pos+1 < len(src) && src[t.pos+1] == '{' {
				lb.WriteByte('{')
				t.pos += 2
				continue
			}
			flushLit()
			part, ok := t.field(raw)
			if !ok {
				return "", false
			}
			lit.Parts = append(lit.Parts, part)
		case lit.F && c == '}':
			if t.pos+1 < len(src) && src[t.pos+1] == '}' {
				t.pos++
			}
			lb.WriteByte('}')
			t.pos++
		default:
			lb.WriteByte(c)
			t.pos++
		}
	}
	return "", false
}

// field reads an f-string replacement field from its '{' to past its '}'.
func (t *tokenizer) field(raw bool) (FPart, bool) {
	src := t.src
	t.pos++ // '{'
	part := FPart{ExprLine: t.line, ExprCol: t.pos - t.lineStart}
	start := t.pos
	depth := 0
	for t.pos < len(src) {
		c := src[t.pos]
		switch {
		case c == '"' || c == '\'':
			// A string inside the expression (3.12 allows the same quote).
			sub := &StrLit{}
			p := t.pos
			prefixStart := p
			for prefixStart > start && isIdentChar(src, prefixStart-1) {
				prefixStart--
			}
			if w := strings.ToLower(src[prefixStart:p]); isStrPrefix(w) {
				sub.F = strings.Contains(w, "f")
			}
			if _, ok := t.strBody(sub, strings.Contains(strings.ToLower(src[prefixStart:p]), "r")); !ok {
				return part, false
			}
			continue
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == '}' && depth > 0:
			depth--
		case c == '\n':
			t.pos++
			t.newline()
			continue
		case depth == 0 && (c == '}' || c == '!' && (t.pos+1 >= len(src) || src[t.pos+1] != '=') || c == ':'):
			expr := src[start:t.pos]
			if tr := strings.TrimRight(expr, " \t"); strings.HasSuffix(tr, "=") && !strings.HasSuffix(tr, "==") && !strings.HasSuffix(tr, "!=") && !strings.HasSuffix(tr, "<=") && !strings.HasSuffix(tr, ">=") {
				expr = tr[:len(tr)-1]
			}
			part.Expr = expr
			if c == '!' {
				t.pos++
				for t.pos < len(src) && src[t.pos] != ':' && src[t.pos] != '}' {
					t.pos++
				}
				if t.pos >= len(src) {
					return part, false
				}
				c = src[t.pos]
			}
			if c == ':' {
				t.pos++
				spec, ok := t.spec(raw)
				if !ok {
					return part, false
				}
				part.Spec = spec
			}
			t.pos++ // '}'
			return part, true
		}
		t.pos++
	}
	return part, false
}

// spec reads a format spec up to (not past) the field's closing '}'.
func (t *tokenizer) spec(raw bool) ([]FPart, bool) {
	src := t.src
	var parts []FPart
	var lb strings.Builder
	for t.pos < len(src) {
		c := src[t.pos]
		switch c {
		case '}':
			if lb.Len() > 0 {
				parts = append(parts, FPart{Lit: lb.String()})
			}
			return parts, true
		case '{':
			if lb.Len() > 0 {
				parts = append(parts, FPart{Lit: lb.String()})
				lb.Reset()
			}
			p, ok := t.field(raw)
			if !ok {
				return nil, false
			}
			parts = append(parts, p)
		case '\n':
			return nil, false
		default:
			lb.WriteByte(c)
			t.pos++
		}
	}
	return nil, false
}

// unescape decodes Python's backslash escapes.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			n, _ := strconv.ParseUint(s[i:j], 8, 32)
			b.WriteRune(rune(n))
			i = j - 1
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n < len(s)+0 && i+1+n <= len(s) {
				if v, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32); err == nil {
					b.WriteRune(rune(v))
					i += n
					continue
				}
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}
