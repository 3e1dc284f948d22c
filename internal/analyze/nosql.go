package analyze

import "strings"

// mongoOperators are MongoDB's query operators; the ones that take
// JavaScript or turn a match into "anything" are the dangerous ones.
var mongoOperators = map[string]Confidence{
	"ne": High, "gt": High, "gte": High, "lt": High, "lte": High, "nin": High, "in": Medium, "eq": Medium,
	"regex": High, "where": High, "exists": High, "or": High, "and": Medium, "nor": High, "not": High,
	"expr": High, "function": High, "accumulator": High, "elemmatch": Medium, "size": Medium, "type": Medium,
	"mod": Medium, "all": Medium, "text": Medium, "jsonschema": Medium, "lookup": Medium, "unionwith": High,
	"options": Medium, "comment": Medium, "natural": Medium, "sample": Medium,
}

// nosql judges MongoDB injection: an operator where a value was
// expected (user[$ne]=x, {"user": {"$gt": ""}} whose key reaches the
// analyzer as json.user.$gt, or "$where:" inside a string), and
// JavaScript that breaks out of a $where expression or calls the shell's
// db API.
func nosql(t *text, place Place) Finding {
	s := t.s
	var best Finding
	keep := func(f Finding) {
		if f.better(best) {
			best = f
		}
	}
	if strings.IndexByte(s, '$') >= 0 {
		keep(mongoOperator(t, place))
	}
	if best.Confidence < High && strings.Contains(s, "db.") {
		keep(mongoShell(t))
	}
	if best.Confidence < High && strings.ContainsAny(s, ";'\"|}") {
		keep(jsBreakout(t))
	}
	return best
}

// mongoOperator finds $op as a key: in a name ([$ne], .$ne, $ne), or in
// a value as an object key ("$ne": 1, $where: '...').
func mongoOperator(t *text, place Place) Finding {
	s := t.s
	for i := strings.IndexByte(s, '$'); i >= 0; {
		j := i + 1
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
			j++
		}
		op := asciiLower(s[i+1 : j])
		conf, known := mongoOperators[op]
		var before, after byte
		if i > 0 {
			before = s[i-1]
		}
		if j < len(s) {
			after = s[j]
		}
		if known {
			switch {
			case place == Name && (before == '[' || before == '.' || before == 0) && (after == ']' || after == '.' || after == 0 || after == '['):
				return Finding{Confidence: conf, Why: "operator $" + op + " as a key"}
			case place != Name && objectKey(s, j) && (before == 0 || before == '{' || before == '"' || before == '\'' || before == ' ' || before == ',' || before == '['):
				if t.isProse() {
					return Finding{Confidence: Medium, Why: "operator $" + op + " in prose"}
				}
				return Finding{Confidence: conf, Why: "operator $" + op}
			case place != Name && before == '[' && after == ']':
				return Finding{Confidence: conf, Why: "operator [$" + op + "]"}
			}
		}
		k := strings.IndexByte(s[j:], '$')
		if k < 0 {
			break
		}
		i = j + k
	}
	return Finding{}
}

// objectKey reports whether s[j:] continues an object key: an optional
// closing quote, spaces, then ':'.
func objectKey(s string, j int) bool {
	if j < len(s) && (s[j] == '"' || s[j] == '\'') {
		j++
	}
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	return j < len(s) && s[j] == ':'
}

// mongoShell finds calls of the mongo shell's db object
// (db.users.find(, db.getCollectionNames()).
func mongoShell(t *text) Finding {
	s := t.s
	for from := 0; ; {
		i := strings.Index(s[from:], "db.")
		if i < 0 {
			return Finding{}
		}
		i += from
		from = i + 3
		if i > 0 && (isIdentByte(s[i-1]) || s[i-1] == '.') {
			continue
		}
		j := i + 3
		for j < len(s) && (isIdentByte(s[j]) || s[j] == '.') {
			j++
		}
		method := s[i+3 : j]
		if k := strings.LastIndexByte(method, '.'); k >= 0 {
			method = method[k+1:]
		}
		if j < len(s) && s[j] == '(' && mongoMethods[method] {
			if t.isProse() {
				return Finding{Confidence: Low, Why: "mongo shell call in prose"}
			}
			return Finding{Confidence: High, Why: "mongo shell call"}
		}
	}
}

// mongoMethods are the mongo shell's methods on a database or a
// collection (db.users.find(, db.getCollectionNames()); db.session.commit()
// is SQLAlchemy.
var mongoMethods = map[string]bool{}

func init() {
	for _, m := range strings.Fields(`find findOne findAndModify findOneAndUpdate findOneAndDelete findOneAndReplace insert
	insertOne insertMany update updateOne updateMany remove deleteOne deleteMany replaceOne drop dropDatabase
	getCollection getCollectionNames getCollectionInfos getSiblingDB getMongo eval aggregate count countDocuments
	distinct mapReduce createCollection runCommand adminCommand serverStatus shutdownServer currentOp killOp
	copyDatabase cloneDatabase auth createUser getUsers dropUser grantRolesToUser stats version hostInfo
	getName loadServerScripts`) {
		mongoMethods[m] = true
	}
}

// jsStatements are what a JavaScript injection into a $where clause (or
// any server-side eval) writes after it breaks out.
var jsStatements = []string{"var ", "let ", "const ", "return ", "return(", "while(", "while (", "do{", "do {", "for(", "for (",
	"function(", "function (", "sleep(", "new date", "this.", "tojson(", "emit(", "throw ", "if(", "if (", "process.", "require("}

// jsBreakout finds JavaScript statements after a break-out from a
// string or an expression (' ; " } ||).
func jsBreakout(t *text) Finding {
	lc := t.lc()
	trim := strings.TrimLeft(lc, " \t")
	breaks := strings.HasPrefix(trim, ";") || strings.HasPrefix(trim, "'") || strings.HasPrefix(trim, "\"") ||
		strings.HasPrefix(trim, "}") || strings.HasPrefix(trim, "||") || strings.Contains(lc, "';") ||
		strings.Contains(lc, "\";") || strings.Contains(lc, "' ||") || strings.Contains(lc, "\" ||")
	if !breaks && len(trim) > 0 && trim[0] >= '0' && trim[0] <= '9' {
		k := 0
		for k < len(trim) && trim[k] >= '0' && trim[k] <= '9' {
			k++
		}
		breaks = k < len(trim) && trim[k] == ';'
	}
	if !breaks {
		return Finding{}
	}
	n := 0
	why := ""
	for _, st := range jsStatements {
		if strings.Contains(lc, st) {
			n++
			if why == "" {
				why = strings.TrimSpace(strings.TrimRight(st, "({ "))
			}
		}
	}
	switch {
	case n == 0:
		return Finding{}
	case t.isProse():
		return Finding{Confidence: Low, Why: "script statements (" + why + ") in prose"}
	case n >= 2 || strings.Contains(lc, "sleep(") || strings.Contains(lc, "while(") || strings.Contains(lc, "this."):
		return Finding{Confidence: High, Why: "break-out into script (" + why + ")"}
	}
	return Finding{Confidence: Medium, Why: "break-out into script (" + why + ")"}
}
