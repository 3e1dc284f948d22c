package analyze

import (
	"strings"

	"github.com/corazawaf/libinjection-go"
)

// sqli judges SQL injection with libinjection's tokenizer: it reads the
// value as SQL as it is, after a single quote and after a double quote
// (the three contexts a value is pasted into) and matches the first
// tokens' fingerprint against its list of injections. libinjection
// flags more than break-outs: a statement quoted as it is ("SELECT name
// FROM users;", a tutorial) and words joined by an operator ("john
// or@var.es"). The fingerprint says which: the analyzer keeps as
// injections the ones that leave a string (they start with the string
// token) or a number, or that stack a statement, and reads the others
// as SQL text (Low).
func sqli(t *text, _ Place) Finding {
	s := t.s
	if !sqlCandidate(s) {
		return Finding{}
	}
	kind, why, strong := sqlText, "", false
	if ok, fp := libinjection.IsSQLi(s); ok && !(fp[0] == 's' && t.isText() && !closingQuote(s)) {
		strong = strings.Contains(fp, "UE") || strings.Contains(fp, ";T") || strings.Contains(fp, ";E")
		kind, why = sqlBreakout(fp), "libinjection "+fp
		if kind == weakFunction {
			kind = sqlText
			if sqlExploitFunction(t.lc()) != "" {
				kind = weakBreakout
			}
		}
		if kind == sqlText && fp[0] == 'E' && sqlExploitFunction(t.lc()) != "" {
			kind, why = breaksOut, why+" with "+sqlExploitFunction(t.lc())
		}
	}
	if kind != breaksOut && quoteThenComment(s) {
		kind, why = breaksOut, "quote then comment"
	}
	if kind != breaksOut && sqlContinues(t.lc()) {
		if w := sqlContinuation(s); w != "" {
			kind, why = breaksOut, w
			if strings.HasSuffix(w, " number") {
				kind = weakBreakout
			}
		}
	}
	if kind != breaksOut && strings.Contains(t.lc(), "program") {
		if w := copyToProgram(t.lc()); w != "" {
			kind, why, strong = breaksOut, w, true
		}
	}
	switch kind {
	case breaksOut:
		// In text, only what no sentence reads as: a UNION SELECT, a
		// stacked statement, a delay or file function after the
		// break-out.
		if t.isText() && !strong && sqlExploitFunction(t.lc()) == "" {
			return Finding{Confidence: Medium, Why: why + " in text"}
		}
		return Finding{Confidence: High, Why: why}
	case weakBreakout:
		if t.isText() && !strong {
			return Finding{Confidence: Low, Why: why + " in text"}
		}
		return Finding{Confidence: Medium, Why: why}
	}
	if why == "" {
		return Finding{}
	}
	return Finding{Confidence: Low, Why: why}
}

// closingQuote reports whether the first quote of s can close a string
// the value was pasted into: at the start, or after a value (a letter,
// a digit, a parenthesis) and before what is no word (a space, an
// operator, a comment). In text, an apostrophe inside a word (Django's,
// O'Brien) or a quote that opens a quotation (execute("SELECT ...")) is
// not a break-out, and libinjection's string context would start there
// mid-sentence.
func closingQuote(s string) bool {
	i := strings.IndexAny(s, "'\"`")
	if i < 0 {
		return false
	}
	if i+1 < len(s) && (isLetter(rune(s[i+1])) || s[i+1] >= '0' && s[i+1] <= '9') {
		return false // opens a word: an apostrophe inside one, or a quotation
	}
	return true
}

// quoteThenComment finds a value that closes a string right after a
// word and comments out the rest of the query: admin'--, admin' #,
// admin")/*.
func quoteThenComment(s string) bool {
	q := strings.IndexAny(s, "'\"")
	if q <= 0 || !isIdentByte(s[q-1]) || len(s) > 64 {
		return false
	}
	rest := strings.TrimLeft(s[q+1:], " )")
	return strings.HasPrefix(rest, "--") || strings.HasPrefix(rest, "#") || strings.HasPrefix(rest, "/*")
}

// sqlContinues is the cheap look for what sqlContinuation needs after a
// break-out: a boolean operator, UNION, a second statement, a clause.
func sqlContinues(lc string) bool {
	for _, k := range []string{" or", " and", "||", "&&", "xor", "union", ";", "order", "group", "into", "having", "where", "procedure", "+(", "-(", "*("} {
		if strings.Contains(lc, k) {
			return true
		}
	}
	return strings.HasPrefix(lc, "or") || strings.HasPrefix(lc, "and") || strings.Contains(lc, ")or") || strings.Contains(lc, ")and") ||
		strings.Contains(lc, "'or") || strings.Contains(lc, "'and") || strings.Contains(lc, "\"or") || strings.Contains(lc, "\"and")
}

// sqlExploitFunctions are what a SQL statement calls only to attack:
// delays, file access, error-based extraction, command execution.
var sqlExploitFunctions = []string{"sleep(", "benchmark(", "pg_sleep(", "waitfor delay", "load_file(", "into outfile",
	"into dumpfile", "extractvalue(", "updatexml(", "xp_cmdshell", "dbms_pipe.receive_message", "utl_http.request",
	"sys_eval(", "sys_exec(", "randomblob(", "information_schema", "pg_read_file(", "copy (", "lo_import("}

func sqlExploitFunction(lc string) string {
	if strings.Contains(lc, " (") {
		lc = strings.ReplaceAll(lc, " (", "(") // sleep (5)
	}
	for _, f := range sqlExploitFunctions {
		if strings.Contains(lc, f) {
			return strings.TrimRight(f, "( ")
		}
	}
	return ""
}

// copyToProgram finds PostgreSQL's COPY ... TO/FROM PROGRAM 'command'
// stacked after a statement: it runs a shell command as the database.
func copyToProgram(lc string) string {
	for from := 0; ; {
		i := strings.Index(lc[from:], "copy")
		if i < 0 {
			return ""
		}
		i += from
		from = i + 4
		before := strings.TrimRight(lc[:i], " \t\n")
		if before != "" && !strings.HasSuffix(before, ";") || i+4 < len(lc) && isIdentByte(lc[i+4]) {
			continue
		}
		rest := strings.Join(strings.Fields(lc[i+4:min(len(lc), i+400)]), " ")
		if p := strings.Index(rest, " program "); p >= 0 && (strings.Contains(rest[:p+1], " to ") || strings.Contains(rest[:p+1], " from ")) {
			return "stacked COPY ... PROGRAM"
		}
	}
}

// sqlCandidate is a cheap look for what every SQL injection needs: a
// quote, a comment, an operator or parenthesis, or a statement keyword
// after a number or word.
func sqlCandidate(s string) bool {
	if strings.ContainsAny(s, "'\"`;()=<>|&#-/*@") {
		return true
	}
	lc := asciiLower(s)
	for _, k := range []string{"union", "select", " or ", " and ", " xor ", "having", "order", "group", "sleep", "waitfor", "benchmark", "exec", "drop", "insert", "delete", "update", " div ", " like "} {
		if strings.Contains(lc, k) {
			return true
		}
	}
	return false
}

type sqlKind uint8

const (
	sqlText sqlKind = iota
	weakBreakout
	breaksOut
	weakFunction // a call first: weak for the functions injections call, else text
)

// sqlBreakout classifies a libinjection fingerprint (one character a
// token: s string, 1 number, n bareword, v variable, k keyword, U union,
// E statement, T command, f function, o operator, & logic operator, c
// comment, ; end of statement, ( ) parentheses, B group/order by, t
// type, X unknown).
func sqlBreakout(fp string) sqlKind {
	if fp == "" {
		return sqlText
	}
	switch fp[0] {
	case 's':
		// Leaves a string, then: a logic operator ("x' OR 1=1"), UNION,
		// a statement, a comment ("admin'--"), a clause, a function or a
		// number; a string operator alone ("'a' + b", "'x' || y") is
		// how code and text join strings.
		i := 1
		for i < len(fp) && fp[i] == ')' {
			i++
		}
		if i == len(fp) {
			return weakBreakout
		}
		switch c := fp[i]; {
		case strings.IndexByte("&U;cBkETf1", c) >= 0:
			return breaksOut
		case c == 'o' && i+2 < len(fp) && fp[i+1] == '(' && fp[i+2] == 'E':
			return breaksOut // a subquery: '+(SELECT ...)+'
		}
		return weakBreakout
	case '1':
		// After a number: "1 AND 1=1", "1;DROP TABLE".
		if len(fp) > 1 {
			return breaksOut
		}
	case ';', ')':
		// Ends the statement or a parenthesis first.
		return breaksOut
	case 'n', 'v':
		// A word, then: it is an injection when what follows it is one
		// ("id UNION SELECT", "x); DROP", "x OR 1=1", "x AND sleep(5)"),
		// not when words are joined by an operator ("john or@var.es" is
		// n&v) or a keyword ("Answer from \"...\"" is nks).
		if len(fp) < 2 {
			return sqlText
		}
		switch fp[1] {
		case 'U', ';', ')':
			return breaksOut
		case '&':
			if len(fp) > 2 && strings.IndexByte("1sf(", fp[2]) >= 0 {
				return breaksOut // x OR 1=1, x AND sleep(5)
			}
		case 'o':
			if len(fp) > 2 && (fp[2] == '1' || fp[2] == 's' || strings.HasPrefix(fp[2:], "(E")) {
				return breaksOut // x=1 OR ..., x = (SELECT ...); not name = f(x)
			}
		}
		return sqlText
	case 'k', 'U', 'T':
		// A keyword first (UNION SELECT, EXEC, DROP ...) without
		// leaving a context: SQL text, unless it reaches for data.
		if strings.ContainsAny(fp, "U") && strings.ContainsAny(fp, "E") {
			return weakBreakout
		}
		return sqlText
	case 'f':
		// A function call first: sleep(5), benchmark(...); "if (x)" is
		// no injection (sqli checks the name).
		return weakFunction
	case 'c':
		// A comment first.
		return weakBreakout
	case 'X':
		// What libinjection calls evil: MySQL's executable comments
		// (/*!50000UNION*/) and the like.
		return breaksOut
	}
	return sqlText
}
