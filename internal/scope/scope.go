// Package scope is the one matcher of where a rule applies: hosts, paths
// (prefixes and regexes), methods and excepted paths, with one meaning for
// every stage that scopes by them (access rules, rate limits, CORS).
//
// # Meaning
//
// An empty list puts no condition. A request is in scope when its host,
// method and path all are:
//
//   - hosts: Django's ALLOWED_HOSTS syntax: "example.com" is that host,
//     ".example.com" the domain and its subdomains, "*" any host; compared
//     in lower case, without the port or a trailing dot.
//   - methods: upper-case names; GET also covers HEAD, as Django runs the
//     GET view for HEAD, and, for rules that restrict (Restrict), OPTIONS:
//     a Django function view runs for any method, and OPTIONS, being safe,
//     passes the CSRF middleware, so a GET-only block would leave the view
//     open to OPTIONS. Allow rules and CORS (Grant) do not stretch to
//     OPTIONS.
//   - paths and path_regex are one list: the path is in it when any prefix
//     or any regex (RE2, unanchored unless written with ^) matches.
//   - except_paths are prefixes taken out of the scope.
//
// # Paths as Django resolves them
//
// Django resolves request.path_info: the percent-decoded path (gunicorn
// decodes PATH_INFO, and so does Go's URL.Path), taken literally and case
// sensitively: no merged slashes, no dot segments resolved, ";" an
// ordinary character. "/admin%2Flogin/" is the admin login,
// "//admin/", "/./admin/", "/x/../admin/", "/admin;x/" and "/ADMIN/" are
// not the admin (Django answers 404). That literal path is the first
// reading of a request's path.
//
// A view may still normalise what its pattern captured
// (django.views.static.serve runs posixpath.normpath, so
// "/media//private/a.pdf" and "/media/public/../private/a.pdf" serve
// "private/a.pdf"), and a server between Parapet and Django may too. The
// second reading is the normalised path: ";params" dropped from each
// segment, empty segments merged, "." and ".." resolved (Normalize).
//
// When the two readings differ, the stricter answer for the use wins:
//
//   - Restrict (block, challenge, log, rate limits): the scope covers the
//     request when either reading is in it, and except_paths take it out
//     only when both readings are excepted.
//   - Grant (allow rules, CORS): the scope covers the request only when
//     both readings are in it and neither is excepted.
//
// So a block on /media/private/ covers every spelling that reaches its
// files, and an allow on /media/public/ never extends to
// "/media/public/../private/a.pdf". Browsers never send such paths (they
// resolve dot segments and do not double slashes), so ordinary traffic has
// one reading and the rule reads it once.
package scope

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Spec is a scope as configured. Every list is optional.
type Spec struct {
	Hosts       []string
	Paths       []string
	PathRegex   []string
	Methods     []string
	ExceptPaths []string
}

// Use says which reading wins when a path's two readings disagree.
type Use uint8

const (
	// Restrict is the use of rules that block, challenge, log or count:
	// covered when either reading is in scope.
	Restrict Use = iota
	// Grant is the use of rules that allow or relax: covered only when
	// both readings are in scope.
	Grant
)

// Scope is a compiled Spec. The zero value and nil cover every request.
// Safe for concurrent use.
type Scope struct {
	anyHost     bool
	exactHosts  map[string]bool
	suffixHosts []string // ".example.com", lower case
	methods     map[string]bool
	getOptions  bool // methods has GET: Restrict uses cover OPTIONS too
	paths       []string
	pathRe      *regexp.Regexp
	exceptPaths []string
}

// FieldError is a Spec entry that does not compile: Field is the config
// key (hosts, paths, path_regex, methods, except_paths), Index the entry.
type FieldError struct {
	Field string
	Index int
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s[%d]: %v", e.Field, e.Index, e.Err) }

func (e *FieldError) Unwrap() error { return e.Err }

// Compile checks and compiles s. The errors (one per bad entry) are
// *FieldError.
func Compile(s Spec) (*Scope, []error) {
	var errs []error
	bad := func(field string, i int, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Index: i, Err: fmt.Errorf(format, args...)})
	}
	sc := &Scope{}
	for i, h := range s.Hosts {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		switch {
		case h == "*":
			sc.anyHost = true
		case h == "" || h == ".":
			bad("hosts", i, "%q is not a host name", s.Hosts[i])
		case strings.ContainsAny(h, "/ :") && !strings.HasPrefix(h, "["):
			bad("hosts", i, "%q must be a host name without scheme, port or path (example.com, .example.com or *)", s.Hosts[i])
		case h[0] == '.':
			sc.suffixHosts = append(sc.suffixHosts, h)
		default:
			if sc.exactHosts == nil {
				sc.exactHosts = map[string]bool{}
			}
			sc.exactHosts[strings.Trim(h, "[]")] = true
		}
	}
	if sc.anyHost {
		sc.exactHosts, sc.suffixHosts = nil, nil
	}
	for i, p := range s.Paths {
		if !strings.HasPrefix(p, "/") {
			bad("paths", i, "%q must start with /", p)
		}
	}
	for i, p := range s.ExceptPaths {
		if !strings.HasPrefix(p, "/") {
			bad("except_paths", i, "%q must start with /", p)
		}
	}
	sc.paths, sc.exceptPaths = s.Paths, s.ExceptPaths
	if len(s.PathRegex) > 0 {
		parts := make([]string, 0, len(s.PathRegex))
		for i, expr := range s.PathRegex {
			if _, err := regexp.Compile(expr); err != nil {
				bad("path_regex", i, "bad regex %q: %s", expr, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
				continue
			}
			parts = append(parts, "(?:"+expr+")")
		}
		if len(parts) == len(s.PathRegex) {
			sc.pathRe = regexp.MustCompile(strings.Join(parts, "|"))
		}
	}
	for i, m := range s.Methods {
		if !validMethod(m) {
			bad("methods", i, "%q is not an upper-case HTTP method", m)
			continue
		}
		if sc.methods == nil {
			sc.methods = map[string]bool{}
		}
		sc.methods[m] = true
		if m == http.MethodGet {
			sc.methods[http.MethodHead] = true
			sc.getOptions = true
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return sc, nil
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// HasPaths reports whether the scope names paths (paths or path_regex).
func (s *Scope) HasPaths() bool { return s != nil && (len(s.paths) > 0 || s.pathRe != nil) }

// HasMethods reports whether the scope names methods.
func (s *Scope) HasMethods() bool { return s != nil && s.methods != nil }

// HasHosts reports whether the scope names hosts (other than "*").
func (s *Scope) HasHosts() bool { return s != nil && (s.exactHosts != nil || s.suffixHosts != nil) }

// Covers reports whether r is in the scope for the use (see the package
// documentation). It reads the request once per call; a stage that asks
// several scopes about one request builds a Target once and calls
// CoversTarget.
func (s *Scope) Covers(r *http.Request, use Use) bool {
	if s == nil {
		return true
	}
	t := NewTarget(r)
	return s.CoversTarget(&t, use)
}

// CoversTarget is Covers for a request read into t.
func (s *Scope) CoversTarget(t *Target, use Use) bool {
	if s == nil {
		return true
	}
	if s.methods != nil && !s.methods[t.Method] && !(use == Restrict && s.getOptions && t.Method == http.MethodOptions) {
		return false
	}
	if s.exactHosts != nil || s.suffixHosts != nil {
		if !s.hostIn(t.host()) {
			return false
		}
	}
	if len(s.exceptPaths) == 0 && len(s.paths) == 0 && s.pathRe == nil {
		return true
	}
	norm := t.normalized()
	if norm == t.Path { // one reading
		return !hasPrefix(t.Path, s.exceptPaths) && s.pathIn(t.Path)
	}
	if use == Grant {
		return !hasPrefix(t.Path, s.exceptPaths) && !hasPrefix(norm, s.exceptPaths) && s.pathIn(t.Path) && s.pathIn(norm)
	}
	if hasPrefix(t.Path, s.exceptPaths) && hasPrefix(norm, s.exceptPaths) {
		return false
	}
	return s.pathIn(t.Path) || s.pathIn(norm)
}

// pathIn reports whether p is in paths or path_regex (true when neither
// is set).
func (s *Scope) pathIn(p string) bool {
	if len(s.paths) == 0 && s.pathRe == nil {
		return true
	}
	return hasPrefix(p, s.paths) || s.pathRe != nil && s.pathRe.MatchString(p)
}

func (s *Scope) hostIn(host string) bool {
	if s.exactHosts[host] {
		return true
	}
	for _, suf := range s.suffixHosts {
		if host == suf[1:] || strings.HasSuffix(host, suf) {
			return true
		}
	}
	return false
}

func hasPrefix(p string, prefixes []string) bool {
	for _, pre := range prefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// Target is a request as scopes read it: its method, host and path, with
// the host's and the path's normal forms worked out once, when first
// needed.
type Target struct {
	Method string
	// Host is the Host header as received.
	Host string
	// Path is the decoded path, as Django resolves it (URL.Path).
	Path string

	hostNorm, pathNorm string
	hostDone, pathDone bool
}

// NewTarget reads r's method, host and path.
func NewTarget(r *http.Request) Target {
	return Target{Method: r.Method, Host: r.Host, Path: r.URL.Path}
}

// NormalizedPath is the second reading of the path (Normalize).
func (t *Target) NormalizedPath() string { return t.normalized() }

func (t *Target) normalized() string {
	if !t.pathDone {
		t.pathNorm, t.pathDone = Normalize(t.Path), true
	}
	return t.pathNorm
}

func (t *Target) host() string {
	if !t.hostDone {
		t.hostNorm, t.hostDone = normalizeHost(t.Host), true
	}
	return t.hostNorm
}

// normalizeHost lower-cases a Host header and drops its port, IPv6
// brackets and trailing dot, as Django's host validation compares them.
func normalizeHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// Normalize returns the normalised reading of a decoded path: each
// segment's ";params" dropped, empty segments merged, "." and ".."
// resolved (".." never above the root); a trailing slash, or a trailing
// "." or ".." segment, leaves the result ending in "/". A path that is
// already normal (nearly every request's) is returned as it is, without
// allocating. A path that does not start with "/" (the OPTIONS target
// "*") is returned as it is.
func Normalize(p string) string {
	if !strings.HasPrefix(p, "/") || isNormal(p) {
		return p
	}
	segs := make([]string, 0, strings.Count(p, "/"))
	rest := p[1:]
	trailing := false
	for {
		seg, after, more := strings.Cut(rest, "/")
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		switch seg {
		case "", ".":
			trailing = !more
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
			trailing = !more
		default:
			segs = append(segs, seg)
			trailing = false
		}
		if !more {
			break
		}
		rest = after
	}
	if len(segs) == 0 {
		return "/"
	}
	var b strings.Builder
	b.Grow(len(p))
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(s)
	}
	if trailing {
		b.WriteByte('/')
	}
	return b.String()
}

// isNormal reports whether Normalize would leave p (starting with "/")
// as it is: no ";", no empty segment but a trailing one, no "." or ".."
// segment.
func isNormal(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case ';':
			return false
		case '/':
			if i+1 < len(p) && p[i+1] == '/' {
				return false
			}
			if i+1 < len(p) && p[i+1] == '.' {
				j := i + 2
				if j < len(p) && p[j] == '.' {
					j++
				}
				if j == len(p) || p[j] == '/' {
					return false
				}
			}
		}
	}
	return true
}

// Exempt is a list of path prefixes that relax a stage (exempt_paths of
// challenges and under-attack mode, API paths, HTTPS redirect
// exemptions). It has the Grant meaning: a path is exempt only when both
// of its readings are under one of the prefixes, so
// "/webhooks/../login/" is not exempt by "/webhooks/". The zero value
// exempts nothing.
type Exempt struct{ prefixes []string }

// NewExempt returns the exemption for prefixes (each starts with /; the
// config validates them).
func NewExempt(prefixes []string) Exempt { return Exempt{prefixes: prefixes} }

// Covers reports whether path (decoded, as URL.Path) is exempt.
func (e Exempt) Covers(path string) bool {
	if len(e.prefixes) == 0 || !hasPrefix(path, e.prefixes) {
		return false
	}
	if isNormal(path) {
		return true
	}
	return hasPrefix(Normalize(path), e.prefixes)
}
