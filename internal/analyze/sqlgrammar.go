package analyze

import "strings"

// sqlToken is one token of the small SQL tokenizer the analyzer adds to
// libinjection for break-outs its fingerprint list misses
// ("123) AND 12=12 AND JSON_DEPTH('{}') != 2521").
type sqlToken struct {
	kind byte // 'n' number, 's' string, 'w' word, 'o' operator, 'p' punctuation ( ) , ;, 'c' comment
	text string
}

// sqlTokens tokenizes s (at most 64 tokens).
func sqlTokens(s string) []sqlToken {
	var out []sqlToken
	for i := 0; i < len(s) && len(out) < 64; {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0xa0:
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-', c == '#':
			out = append(out, sqlToken{'c', s[i:]})
			i = len(s)
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				out = append(out, sqlToken{'c', s[i:]})
				i = len(s)
				break
			}
			body := s[i+2 : i+2+end]
			if strings.HasPrefix(body, "!") {
				// MySQL runs what an executable comment holds
				j := 1
				for j < len(body) && body[j] >= '0' && body[j] <= '9' {
					j++
				}
				out = append(out, sqlTokens(body[j:])...)
			}
			i += 4 + end
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (isIdentByte(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, sqlToken{'n', s[i:j]})
			i = j
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(s) {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			out = append(out, sqlToken{'s', s[i:min(j+1, len(s))]})
			i = j + 1
		case isIdentByte(c) || c == '@':
			j := i + 1
			for j < len(s) && (isIdentByte(s[j]) || s[j] == '.' || s[j] == '@') {
				j++
			}
			out = append(out, sqlToken{'w', asciiLower(s[i:j])})
			i = j
		case c == '(' || c == ')' || c == ',' || c == ';':
			out = append(out, sqlToken{'p', s[i : i+1]})
			i++
		case strings.IndexByte("=<>!|&+-*/%^~", c) >= 0:
			j := i + 1
			for j < len(s) && j < i+3 && strings.IndexByte("=<>!|&", s[j]) >= 0 {
				j++
			}
			out = append(out, sqlToken{'o', s[i:j]})
			i = j
		default:
			out = append(out, sqlToken{'x', s[i : i+1]})
			i++
		}
	}
	return out
}

var sqlStatements = map[string]bool{"select": true, "insert": true, "update": true, "delete": true, "drop": true, "create": true,
	"alter": true, "exec": true, "execute": true, "declare": true, "shutdown": true, "waitfor": true, "truncate": true,
	"grant": true, "set": true, "load": true, "call": true, "merge": true, "replace": true, "handler": true}

var sqlComparisons = map[string]bool{"=": true, "==": true, "<>": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true,
	"<=>": true, "like": true, "rlike": true, "regexp": true, "is": true, "in": true, "between": true, "sounds": true, "glob": true}

// sqlContinuation finds a break-out the way an injection is built: the
// value closes what it was put into (a string with a quote, a number, a
// parenthesis) and SQL goes on: a boolean operator and a condition, a
// UNION SELECT, a second statement, a clause, or a comment. It returns
// a description, or "".
func sqlContinuation(s string) string {
	toks := sqlTokens(s)
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		// A break-out point: a number at the start, a word closed by a
		// parenthesis, or a ')' near the start (quotes: below).
		switch {
		case t.kind == 'n' && i == 0:
		case t.kind == 'w' && i == 0 && len(toks) > 1 && toks[1].kind == 'p' && toks[1].text == ")":
		case t.kind == 'p' && t.text == ")" && i <= 3:
		case t.kind == 'p' && t.text == ";" && i == 0:
			// a second statement right away: ";INSERT INTO ..."
			if w := continuesSQL(toks); w != "" {
				return w
			}
			continue
		default:
			continue
		}
		j := i + 1
		for j < len(toks) && toks[j].kind == 'p' && toks[j].text == ")" {
			j++
		}
		if w := continuesSQL(toks[j:]); w != "" {
			return w
		}
	}
	// A quote closing the app's string anywhere: x' OR 'a'='a
	if q := strings.IndexAny(s, `'"`); q >= 0 {
		rest := sqlTokens(s[q+1:])
		j := 0
		for j < len(rest) && rest[j].kind == 'p' && rest[j].text == ")" {
			j++
		}
		if w := continuesSQL(rest[j:]); w != "" {
			return "quote then " + w
		}

	}
	return ""
}

// continuesSQL judges the tokens after a break-out point.
func continuesSQL(toks []sqlToken) string {
	if len(toks) == 0 {
		return ""
	}
	t := toks[0]
	switch {
	case t.kind == 'c':
		return ""
	case t.kind == 'w' && (t.text == "or" || t.text == "and" || t.text == "xor" || t.text == "having" || t.text == "where"),
		t.kind == 'o' && (t.text == "||" || t.text == "&&"):
		switch condition(toks[1:]) {
		case strongCondition:
			return t.text + " condition"
		case weakCondition:
			return t.text + " number"
		}
	case t.kind == 'w' && t.text == "union":
		k := 1
		if k < len(toks) && (toks[k].text == "all" || toks[k].text == "distinct") {
			k++
		}
		for k < len(toks) && toks[k].kind == 'p' && toks[k].text == "(" {
			k++
		}
		if k < len(toks) && toks[k].text == "select" {
			return "union select"
		}
	case t.kind == 'p' && t.text == ";":
		if len(toks) > 1 && toks[1].kind == 'w' && sqlStatements[toks[1].text] && len(toks) > 2 {
			return "stacked " + toks[1].text
		}
	case t.kind == 'w' && (t.text == "order" || t.text == "group") && len(toks) > 2 && toks[1].text == "by" && toks[2].kind == 'n':
		return t.text + " by number"
	case t.kind == 'w' && t.text == "into" && len(toks) > 1 && (toks[1].text == "outfile" || toks[1].text == "dumpfile"):
		return "into " + toks[1].text
	case t.kind == 'w' && t.text == "procedure" && len(toks) > 1 && toks[1].text == "analyse":
		return "procedure analyse"
	case t.kind == 'o' && (t.text == "+" || t.text == "||" || t.text == "-" || t.text == "*") && len(toks) > 2 && toks[1].text == "(" && toks[2].text == "select":
		return "subquery concatenated"
	}
	return ""
}

type conditionKind uint8

const (
	noCondition conditionKind = iota
	weakCondition
	strongCondition
)

func cond(b bool) conditionKind {
	if b {
		return strongCondition
	}
	return noCondition
}

// condition reports whether toks start with a condition an injection
// writes: a comparison (1=1, 'a'='a', x LIKE y, 12=12), a function call
// (SLEEP(5), JSON_DEPTH('{}') != 2), a subquery, NOT/EXISTS, or a
// boolean literal; a number alone ("1 or 2") is weak.
func condition(toks []sqlToken) conditionKind {
	if len(toks) == 0 {
		return noCondition
	}
	k := 0
	for k < len(toks) && (toks[k].text == "not" || toks[k].text == "(" || toks[k].text == "!") {
		k++
	}
	if k >= len(toks) {
		return noCondition
	}
	t := toks[k]
	switch {
	case t.kind == 'w' && (t.text == "select" || t.text == "exists"):
		return strongCondition
	case t.kind == 'w' && (t.text == "true" || t.text == "false" || t.text == "null") && (k+1 == len(toks) || toks[k+1].kind == 'c' || toks[k+1].kind == 'o' || sqlComparisons[toks[k+1].text]):
		return weakCondition
	case t.kind == 'w' && k+1 < len(toks) && toks[k+1].text == "(":
		// a function call: count it only for a name that is no English
		// word joined to a parenthesis by chance ("and sleep(5)" is,
		// "or (see below)" is not)
		return cond(sqlFunctionName(t.text))
	case t.kind == 'n' || t.kind == 's' || t.kind == 'w':
		if k+1 >= len(toks) {
			if t.kind == 'n' {
				return weakCondition
			}
			return noCondition
		}
		op := toks[k+1]
		if (op.kind == 'o' || op.kind == 'w') && sqlComparisons[op.text] && k+2 < len(toks) {
			r := toks[k+2]
			return cond(r.kind == 'n' || r.kind == 's' || r.kind == 'w' || r.text == "(")
		}
		if t.kind == 'n' && (op.kind == 'c' || op.text == ";" || op.text == ")") {
			return strongCondition
		}
	}
	return noCondition
}

// sqlFunctionName reports a name SQL injections call in a condition.
func sqlFunctionName(w string) bool {
	switch w {
	case "sleep", "benchmark", "pg_sleep", "ascii", "substring", "substr", "mid", "char", "chr", "length", "len",
		"concat", "if", "iif", "case", "ord", "hex", "unhex", "bin", "version", "database", "user", "current_user",
		"extractvalue", "updatexml", "exp", "floor", "rand", "count", "json_extract", "json_depth", "json_keys",
		"elt", "make_set", "randomblob", "sqlite_version", "load_file", "coalesce", "ifnull", "nullif", "isnull",
		"cast", "convert", "instr", "locate", "position", "left", "right", "regexp_like", "dbms_pipe.receive_message",
		"utl_inaddr.get_host_name", "waitfor", "db_name", "has_dbaccess", "is_srvrolemember", "system_user":
		return true
	}
	return strings.HasPrefix(w, "json_") || strings.HasPrefix(w, "pg_") || strings.HasPrefix(w, "sys.")
}
