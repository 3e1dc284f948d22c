package analyze

import "strings"

// templateOpeners are the expression and statement delimiters of the
// template languages a server may render user input with: Django and
// Jinja2 ({{ }} {% %}), JSP/EL, FreeMarker, Velocity, Thymeleaf, Spring
// and Ruby (${ } #{ } *{ } @{ }), ERB and EJS (<%= %>), FreeMarker's
// directives (<#assign>, [#assign]), Smarty ({php}).
var templateOpeners = []struct{ open, close string }{
	{"{{", "}}"}, {"{%", "%}"}, {"${", "}"}, {"#{", "}"}, {"*{", "}"}, {"@{", "}"}, {"<%=", "%>"}, {"<%", "%>"},
	{"<#", ">"}, {"[#", "]"}, {"{php}", "{/php}"}, {"#set(", ")"}, {"#foreach(", ")"},
}

// template judges server-side template injection: an expression the
// server would evaluate that computes (7*7), walks to Python's or Java's
// internals (__class__, getClass(), T(java.lang.Runtime)), or names the
// objects templates expose to reach them (config, self, lipsum). A
// variable ("{{ user.name }}", "${name}") is a template snippet (Low).
func template(t *text) Finding {
	s := t.s
	if !strings.ContainsAny(s, "{#<[") {
		return Finding{}
	}
	var best Finding
	for _, d := range templateOpeners {
		for from := 0; from < len(s) && best.Confidence < High; {
			i := strings.Index(s[from:], d.open)
			if i < 0 {
				break
			}
			i += from
			body := s[i+len(d.open):]
			from = i + len(d.open)
			// An expression the template engine evaluates is closed;
			// "<%s>" % x is Python's formatting.
			j := strings.Index(body[:min(len(body), 400+len(d.close))], d.close)
			if j < 0 {
				continue
			}
			body = body[:j]
			f := judgeTemplate(d.open, body)
			if f.Confidence == NoFinding {
				continue
			}
			if f.Confidence == High && t.isProse() && looksLikeProse(s[:i]+" "+s[min(len(s), i+len(d.open)+j+len(d.close)):]) {
				f.Confidence = Medium
				f.Why += " in prose"
			}
			if f.better(best) {
				best = f
			}
		}
	}
	return best
}

var templateInternals = []string{
	"__class__", "__mro__", "__subclasses__", "__globals__", "__builtins__", "__import__", "__init__", "__base__",
	"__bases__", "__dict__", "__getattribute__", "__reduce__", "func_globals", ".mro(",
	"getclass(", "forname(", "getruntime", "runtime", "processbuilder", ".exec(", "t(java", "java.lang",
	"freemarker.template.utility", "?new(", "objectconstructor", "jythonruntime", "class.module.classloader",
	"constructor.constructor", "$on.constructor", "getmethod(", "invoke(", "newinstance(", "scriptengine",
	"os.popen", "os.system", "subprocess", "popen(", "import os",
}

var templateObjects = []string{
	"config", "self.", "self|", "request.application", "request.environ", "lipsum", "cycler", "joiner",
	"namespace", "url_for", "get_flashed_messages", "settings.", "|attr(", "attr(", "g.pop", "range.constructor",
	"application.", "session.", "servletcontext", "_context", "#context", "#request", "#session", "$class",
}

// judgeTemplate judges one template expression or statement.
func judgeTemplate(open, body string) Finding {
	lc := asciiLower(body)
	trim := strings.TrimSpace(lc)
	if trim == "" {
		return Finding{}
	}
	for _, w := range templateInternals {
		if strings.Contains(lc, w) {
			return Finding{Confidence: High, Why: open + " " + strings.Trim(w, ".(|")}
		}
	}
	if arithmeticProbe(trim) {
		return Finding{Confidence: High, Why: open + " arithmetic"}
	}
	if w := frameworkSecret(lc); w != "" {
		return Finding{Confidence: High, Why: open + " reads " + w}
	}
	switch open {
	case "{%":
		fields := strings.Fields(trim)
		if name, _, call := strings.Cut(fields[0], "("); call && (name == "print" || name == "do") || len(fields) > 1 && (fields[0] == "print" || fields[0] == "do") && strings.Contains(trim, "(") {
			// Jinja2's {% print(...) %} and {% do ... %}: a statement
			// that calls, made to show or run what it computes.
			return Finding{Confidence: High, Why: "{% " + strings.TrimRight(name, " ") + " %} call"}
		}
		if (fields[0] == "include" || fields[0] == "extends" || fields[0] == "import" || fields[0] == "from" || fields[0] == "ssi") && len(fields) > 1 {
			if p := strings.Trim(fields[1], `'"`); isAbsolutePath(p) || strings.Contains(p, "../") || strings.Contains(p, `..\`) || sensitiveTarget(p) != "" {
				return Finding{Confidence: High, Why: "{% " + fields[0] + " %} of a file outside the templates"}
			}
		}
		switch fields[0] {
		case "debug", "ssi", "load", "include", "extends", "import", "from", "set", "macro", "call", "filter", "with", "raw", "autoescape":
			conf := Medium
			if fields[0] == "debug" || fields[0] == "ssi" {
				conf = High
			}
			return Finding{Confidence: conf, Why: "{% " + fields[0] + " %}"}
		}
		return Finding{Confidence: Low, Why: "{% " + fields[0] + " %}"}
	case "<#":
		if strings.HasPrefix(trim, "assign") || strings.HasPrefix(trim, "include") || strings.HasPrefix(trim, "import") {
			return Finding{Confidence: Medium, Why: "freemarker directive"}
		}
		return Finding{}
	case "<%", "<%=":
		if strings.ContainsAny(trim, "(`.") {
			return Finding{Confidence: Medium, Why: open + " code"}
		}
		return Finding{Confidence: Low, Why: open + " expression"}
	case "{php}":
		return Finding{Confidence: High, Why: "smarty {php}"}
	}
	for _, w := range templateObjects {
		if strings.Contains(lc, w) {
			// Calling a method (Jinja2 allows it, Django does not) or
			// reading a secret of the object is the attack; the name
			// alone may be a site's own variable.
			if strings.Contains(trim, "(") || secretAttr(body) {
				return Finding{Confidence: High, Why: open + " " + strings.Trim(w, ".(|") + " reached"}
			}
			return Finding{Confidence: Medium, Why: open + " " + strings.Trim(w, ".(|")}
		}
	}
	if (open == "${" || open == "#{" || open == "*{" || open == "@{") && strings.Contains(trim, "(") {
		return Finding{Confidence: Medium, Why: open + " call"}
	}
	return Finding{Confidence: Low, Why: open + " expression"}
}

// frameworkSecrets are what a template reads to leak the framework's
// secrets: the request's environment and headers, the session, the
// signing key (messages' and sessions' signer), the settings.
var frameworkSecrets = []string{"request.meta", "request.environ", "signer.key", "secret_key", "request.session",
	"session.items", "session.values", "session.keys", "messages.storages", "settings_dict", "user.password",
	"request.cookies", "_wrapped", "connection.settings"}

// frameworkSecret is the first framework secret the lower-cased
// expression reads ("" when none).
func frameworkSecret(lc string) string {
	for _, w := range frameworkSecrets {
		if strings.Contains(lc, w) {
			return w
		}
	}
	return ""
}

// secretAttr reports an upper-case attribute that names a secret
// (settings.SECRET_KEY, config.DATABASE_PASSWORD).
func secretAttr(body string) bool {
	for _, w := range []string{"SECRET", "PASSWORD", "TOKEN", "KEY", "DATABASES", "CREDENTIALS"} {
		if strings.Contains(body, w) {
			return true
		}
	}
	return false
}

// arithmeticProbe reports whether an expression is arithmetic on
// literals: "7*7", "1337*1338", "'7'*7", "7 * '7'" (what a tester sends
// to see 49 come back).
func arithmeticProbe(e string) bool {
	e = strings.TrimSpace(e)
	ops, nums := 0, 0
	for i := 0; i < len(e); {
		c := e[i]
		switch {
		case c >= '0' && c <= '9':
			for i < len(e) && (e[i] >= '0' && e[i] <= '9' || e[i] == '.') {
				i++
			}
			nums++
			continue
		case c == '*' || c == '+' || c == '-' || c == '/' || c == '%':
			ops++
		case c == ' ' || c == '\'' || c == '"' || c == '(' || c == ')':
		default:
			return false
		}
		i++
	}
	return nums >= 2 && ops >= 1 && strings.ContainsAny(e, "*+/%")
}

// ssiDirectives are the directives of server-side includes.
var ssiDirectives = []string{"exec", "include", "echo", "config", "set", "printenv", "fsize", "flastmod", "if", "elif", "else", "endif"}

// ssi judges server-side include directives (<!--#exec cmd="..." -->).
func ssi(t *text) Finding {
	s := t.s
	for from := 0; ; {
		i := strings.Index(s[from:], "<!--#")
		if i < 0 {
			return Finding{}
		}
		i += from + len("<!--#")
		from = i
		rest := asciiLower(s[i:min(len(s), i+12)])
		for _, d := range ssiDirectives {
			if strings.HasPrefix(rest, d) && (len(rest) == len(d) || !isIdentByte(rest[len(d)])) {
				return Finding{Confidence: High, Why: "SSI " + d}
			}
		}
	}
}
