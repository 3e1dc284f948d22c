package djangoproj

import (
	"strings"
	"unicode"
)

// A small Python tokenizer: enough to find literal assignments, string
// arguments of calls and star imports. It does not parse Python; what it
// cannot read as a literal is reported as "cannot tell" (issue #20 brings a
// real parser).

type tokKind int

const (
	tName tokKind = iota
	tString
	tNumber
	tOp
	tNewline // end of a logical line
)

type token struct {
	kind tokKind
	text string // the name, the string's value, the number or the operator
	line int
	col  int  // column of the token (0: starts a top-level statement)
	raw  bool // a string with a prefix other than r/u (f-strings, bytes): not a plain literal
}

// tokenize splits Python source into tokens. Newlines inside brackets and
// after a backslash do not end the logical line; comments are dropped.
func tokenize(src string) []token {
	var toks []token
	line, col := 1, 0
	depth := 0
	i := 0
	advance := func(n int) {
		for k := 0; k < n && i < len(src); k++ {
			if src[i] == '\n' {
				line++
				col = 0
			} else {
				col++
			}
			i++
		}
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				advance(1)
			}
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			advance(2)
		case c == '\n':
			if depth == 0 && len(toks) > 0 && toks[len(toks)-1].kind != tNewline {
				toks = append(toks, token{kind: tNewline, line: line, col: col})
			}
			advance(1)
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			advance(1)
		case c == '"' || c == '\'' || (isPrefix(src[i:]) > 0):
			p := isPrefix(src[i:])
			prefix := strings.ToLower(src[i : i+p])
			startLine, startCol := line, col
			advance(p)
			val, n, ok := readString(src[i:])
			if !ok {
				// Unterminated: stop here rather than guess.
				return append(toks, token{kind: tNewline, line: line})
			}
			advance(n)
			raw := strings.ContainsAny(prefix, "fb")
			if !strings.Contains(prefix, "r") {
				val = unescape(val)
			}
			toks = append(toks, token{kind: tString, text: val, line: startLine, col: startCol, raw: raw})
		case c == '_' || unicode.IsLetter(rune(c)) || c >= 0x80:
			j := i
			for j < len(src) && (src[j] == '_' || src[j] >= 0x80 || unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j]))) {
				j++
			}
			toks = append(toks, token{kind: tName, text: src[i:j], line: line, col: col})
			advance(j - i)
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (src[j] == '_' || src[j] == '.' || unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j]))) {
				j++
			}
			toks = append(toks, token{kind: tNumber, text: src[i:j], line: line, col: col})
			advance(j - i)
		default:
			op := string(c)
			if i+1 < len(src) {
				switch two := src[i : i+2]; two {
				case "+=", "-=", "*=", "/=", "|=", "==", "!=", "<=", ">=", "->", "**", "//", ":=":
					op = two
				}
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth > 0 {
					depth--
				}
			}
			toks = append(toks, token{kind: tOp, text: op, line: line, col: col})
			advance(len(op))
		}
	}
	if len(toks) > 0 && toks[len(toks)-1].kind != tNewline {
		toks = append(toks, token{kind: tNewline, line: line})
	}
	return toks
}

// isPrefix returns the length of a string prefix (r, b, u, f, rb, br, fr,
// rf) at the start of s when a quote follows it, else 0.
func isPrefix(s string) int {
	for n := 1; n <= 2 && n < len(s); n++ {
		p := strings.ToLower(s[:n])
		if strings.Trim(p, "rbuf") != "" {
			return 0
		}
		if s[n] == '"' || s[n] == '\'' {
			return n
		}
	}
	return 0
}

// readString reads a quoted string at the start of s (single, double or
// triple quoted) and returns its body, the bytes consumed and whether it
// was terminated.
func readString(s string) (string, int, bool) {
	q := s[:1]
	if strings.HasPrefix(s, q+q+q) {
		q = q + q + q
	}
	for j := len(q); j < len(s); j++ {
		switch {
		case s[j] == '\\':
			j++
		case s[j] == '\n' && len(q) == 1:
			return "", j, false
		case strings.HasPrefix(s[j:], q):
			return s[len(q):j], j + len(q), true
		}
	}
	return "", len(s), false
}

// unescape handles the escapes a settings string may hold.
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	r := strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\"`, `"`, `\n`, "\n", `\t`, "\t")
	return r.Replace(s)
}

// statements splits tokens into logical lines.
func statements(toks []token) [][]token {
	var out [][]token
	start := 0
	for i, t := range toks {
		if t.kind == tNewline {
			if i > start {
				out = append(out, toks[start:i])
			}
			start = i + 1
		}
	}
	return out
}
