package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "PARAPET_"

// EnvConfigFile names the config file when --config is not given.
const EnvConfigFile = "PARAPET_CONFIG"

// Error is one configuration problem and where it is.
type Error struct {
	// File is the config file ("" when the value came from elsewhere).
	File string
	// Line is the 1-based line in File (0 if unknown).
	Line int
	// Env is the environment variable that set the value, if one did.
	Env string
	// Path is the key path, e.g. "edge.allowed_hosts[1]".
	Path string
	// Reason says what is wrong.
	Reason string

	decodeKept bool // a YAML type error after which decoding went on
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Env != "":
		fmt.Fprintf(&b, "environment %s", e.Env)
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File)
	default:
		b.WriteString("config")
	}
	if e.Path != "" {
		fmt.Fprintf(&b, ": %s", e.Path)
	}
	fmt.Fprintf(&b, ": %s", e.Reason)
	return b.String()
}

// Errors is a list of configuration problems, reported together.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap returns the problems one by one.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// source remembers where each value of a loaded config came from.
type source struct {
	file  string
	lines map[string]int    // key path -> line in file
	env   map[string]string // key path -> environment variable
}

// Position returns an *Error for path with the file, line or environment
// variable that set it. Builders use it to report problems they find while
// compiling a config (a regex, a CIDR) at the place the user wrote them.
func (c *Config) Errorf(path, format string, args ...any) *Error {
	e := &Error{Path: path, Reason: fmt.Sprintf(format, args...)}
	if c.src == nil {
		return e
	}
	e.File = c.src.file
	// The nearest enclosing path that has a position wins: an error in
	// rules[2].path_regex[0] set by PARAPET_RULES points at that variable.
	for p := path; p != ""; p = parentPath(p) {
		if env, ok := c.src.env[p]; ok {
			e.Env = env
			return e
		}
		if line, ok := c.src.lines[p]; ok {
			e.Line = line
			return e
		}
	}
	return e
}

// File is the config file this config was loaded from ("" if none).
func (c *Config) File() string {
	if c.src == nil {
		return ""
	}
	return c.src.file
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// Load builds the effective config: defaults, then the YAML file at path
// (skipped when path is ""), then overrides from environ (os.Environ()
// form), then validation. Problems come back as Errors.
func Load(path string, environ []string) (*Config, error) {
	cfg, err := LoadAll(path, environ)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// LoadAll is Load, but when the file could be read and parsed it also
// returns the config beside the problems (unknown keys, type mismatches,
// bad environment variables and values are skipped), so a caller can build
// it too and report every problem in one pass (`parapet check`). The
// config is nil only when the file cannot be read or is not YAML.
func LoadAll(path string, environ []string) (*Config, error) {
	cfg := Default()
	cfg.src = &source{file: path, lines: map[string]int{}, env: map[string]string{}}
	var errs Errors
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading config: %w", err)
		}
		if err := cfg.decodeYAML(path, data); err != nil {
			var es Errors
			if !errors.As(err, &es) || !es.partial() {
				return nil, err
			}
			// Unknown keys and type mismatches leave the rest decoded:
			// report them together with whatever validation finds.
			errs = append(errs, es...)
		}
	}
	env := envMap(environ)
	if err := cfg.applyEnv(env); err != nil {
		var es Errors
		errors.As(err, &es)
		errs = append(errs, es...)
	}
	if err := cfg.Validate(); err != nil {
		var es Errors
		errors.As(err, &es)
		errs = append(errs, es...)
	}
	if len(errs) > 0 {
		return cfg, errs.Sorted()
	}
	return cfg, nil
}

// Sorted returns the problems without repeats, those set by the
// environment first, then by line.
func (es Errors) Sorted() Errors {
	seen := map[string]bool{}
	out := make(Errors, 0, len(es))
	for _, e := range es {
		if s := e.Error(); !seen[s] {
			seen[s] = true
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Env != "") != (out[j].Env != "") {
			return out[i].Env != ""
		}
		return out[i].Line < out[j].Line
	})
	return out
}

var yamlLineErr = regexp.MustCompile(`^line (\d+): (.*)$`)
var yamlUnknownField = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)

func (c *Config) decodeYAML(file string, data []byte) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return yamlError(file, err, nil)
	}
	recordLines(&root, "", c.src.lines)
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return yamlError(file, err, c.src.lines)
	}
	return nil
}

// partial reports whether the errors came from a decode that went on past
// them (yaml.TypeError), so validation can still run on the rest.
func (es Errors) partial() bool {
	for _, e := range es {
		if !e.decodeKept {
			return false
		}
	}
	return len(es) > 0
}

var yamlTypeErr = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")

// typeHints say what a key of each Go type takes, for type mismatches.
var typeHints = map[string]string{
	"time.Duration":     "a duration (e.g. 30s, 5m)",
	"int":               "a whole number",
	"bool":              "true or false",
	"[]string":          "a list ([a, b])",
	"[]int":             "a list of whole numbers",
	"string":            "a string",
	"map[string]string": "a mapping (name: value)",
}

// yamlError turns yaml.v3's messages into Errors with file and line; with
// lines (key path -> line) it names the key and suggests the known key
// nearest to an unknown one.
func yamlError(file string, err error, lines map[string]int) error {
	var msgs []string
	var te *yaml.TypeError
	kept := errors.As(err, &te)
	if kept {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var out Errors
	for _, m := range msgs {
		e := &Error{File: file, Reason: m, decodeKept: kept}
		if sm := yamlLineErr.FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Reason = sm[2]
		}
		if sm := yamlUnknownField.FindStringSubmatch(e.Reason); sm != nil {
			key, section := sm[1], sectionName(sm[2])
			if p := pathAt(lines, e.Line, key); p != "" {
				if parent := parentPath(p); parent != "" {
					section = parent
				}
			}
			e.Reason = fmt.Sprintf("unknown key %q (in %s", key, section)
			if s := closestKey(key, knownKeys(sm[2])); s != "" {
				e.Reason += fmt.Sprintf("; did you mean %s?", s)
			}
			e.Reason += ")"
		} else if sm := yamlTypeErr.FindStringSubmatch(e.Reason); sm != nil {
			if p := pathAt(lines, e.Line, ""); p != "" {
				e.Path = p
			}
			if hint, ok := typeHints[sm[3]]; ok {
				e.Reason = fmt.Sprintf("%q is not %s", sm[2], hint)
			}
		}
		out = append(out, e)
	}
	return out
}

// pathAt finds the key path written at line (ending in key, when given);
// the deepest one wins.
func pathAt(lines map[string]int, line int, key string) string {
	best := ""
	for p, l := range lines {
		if l != line || strings.HasSuffix(p, "]") {
			continue
		}
		if key != "" && p != key && !strings.HasSuffix(p, "."+key) {
			continue
		}
		if len(p) > len(best) {
			best = p
		}
	}
	return best
}

// knownKeys lists the YAML keys of the config struct type named typeName.
func knownKeys(typeName string) map[string]bool {
	keys := map[string]bool{}
	var walk func(t reflect.Type, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, seen map[reflect.Type]bool) {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || t == durationType {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			if t.Name() == typeName {
				keys[tag] = true
			}
			walk(f.Type, seen)
		}
	}
	walk(reflect.TypeOf(Config{}), map[reflect.Type]bool{})
	return keys
}

// closestKey is closest for YAML keys: a suggestion only when it is near
// enough for the key's length (two letters' typo in "id" is another word).
func closestKey(key string, known map[string]bool) string {
	s := closest(key, known)
	if s == "" || editDistance(key, s)*3 > len(key)+1 {
		return ""
	}
	return s
}

func sectionName(typeName string) string {
	if typeName == "Config" {
		return "the top level"
	}
	return typeName + " section"
}

// recordLines maps every key path in the document to its line.
func recordLines(n *yaml.Node, path string, lines map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			recordLines(c, path, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			lines[p] = k.Line
			recordLines(v, p, lines)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = c.Line
			recordLines(c, p, lines)
		}
	}
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// EnvName returns the environment variable that overrides the key path
// ("edge.allowed_hosts" -> "PARAPET_EDGE_ALLOWED_HOSTS").
func EnvName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// nonKeyEnv are PARAPET_ variables that are not config keys.
var nonKeyEnv = map[string]bool{EnvConfigFile: true, EnvSecret: true, EnvServer: true}

// EnvServer names the running Parapet the CLI's admin commands talk to
// (parapet ban, rules, events, status); not a config key.
const EnvServer = "PARAPET_SERVER"

var durationType = reflect.TypeOf(time.Duration(0))
var byteSizeType = reflect.TypeOf(ByteSize(0))

func (c *Config) applyEnv(env map[string]string) error {
	var errs Errors
	known := map[string]bool{}
	walkKeys(reflect.ValueOf(c).Elem(), "", func(path string, v reflect.Value) {
		name := EnvName(path)
		known[name] = true
		raw, ok := env[name]
		if !ok {
			return
		}
		if err := setFromString(v, raw); err != nil {
			errs = append(errs, &Error{Env: name, Path: path, Reason: err.Error()})
			return
		}
		c.src.env[path] = name
	})
	c.applySecretAlias(env)
	// Heroku's own variables.
	if port, ok := env["PORT"]; ok && c.Listen == "" {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			errs = append(errs, &Error{Env: "PORT", Reason: fmt.Sprintf("%q is not a port number", port)})
		} else {
			c.Listen = ":" + port
			c.src.env["listen"] = "PORT"
		}
	}
	// On a Heroku dyno (DYNO is set) every request comes through Heroku's
	// router, from addresses it does not publish: trust it unless the file
	// or the environment names trusted_proxies, so the client address and
	// the HTTPS redirect work without a config file.
	if _, onHeroku := env["DYNO"]; onHeroku && len(c.TrustedProxies) == 0 {
		_, inFile := c.src.lines["trusted_proxies"]
		_, inEnv := c.src.env["trusted_proxies"]
		if !inFile && !inEnv {
			c.TrustedProxies = []string{"heroku"}
			c.src.env["trusted_proxies"] = "DYNO"
		}
	}
	if u, ok := env["REDIS_URL"]; ok && c.Store.URL == "" {
		c.Store.URL = u
		c.src.env["store.url"] = "REDIS_URL"
	}
	var unknown []string
	for k := range env {
		if strings.HasPrefix(k, EnvPrefix) && !known[k] && !nonKeyEnv[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		reason := "no such config key"
		if s := closest(k, known); s != "" {
			reason += fmt.Sprintf(" (did you mean %s?)", s)
		}
		errs = append(errs, &Error{Env: k, Reason: reason})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// walkKeys calls fn for every config key (leaf or list) under v.
func walkKeys(v reflect.Value, prefix string, fn func(path string, v reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			walkKeys(fv, path, fn)
			continue
		}
		fn(path, fv)
	}
}

func setFromString(v reflect.Value, raw string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 30s, 5m)", raw)
		}
		v.SetInt(int64(d))
	case v.Type() == byteSizeType:
		b, err := ParseByteSize(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(b))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		v.SetInt(n)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Int && !strings.HasPrefix(strings.TrimSpace(raw), "["):
		var items []int
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", s)
			}
			items = append(items, n)
		}
		v.Set(reflect.ValueOf(items).Convert(v.Type()))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		v.Set(reflect.ValueOf(items).Convert(v.Type()))
	default:
		// Lists of objects: the value is YAML (or JSON, which is YAML).
		dec := yaml.NewDecoder(strings.NewReader(raw))
		dec.KnownFields(true)
		fresh := reflect.New(v.Type())
		if err := dec.Decode(fresh.Interface()); err != nil {
			return fmt.Errorf("not valid YAML/JSON for this key: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		v.Set(fresh.Elem())
	}
	return nil
}

// closest suggests the known name nearest to name, for typos.
func closest(name string, known map[string]bool) string {
	best, bestD := "", 4
	for k := range known {
		if d := editDistance(name, k); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
