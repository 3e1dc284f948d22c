// Package configref writes the configuration reference (docs/CONFIG.md)
// from the config schema itself: the structs of package config with their
// YAML keys and doc comments (read from the package's source), the
// defaults of config.Default and the environment variable of every key.
// The reference is generated, never edited by hand: `go generate
// ./internal/config` (or `make docs`) rewrites it, and a test in package
// config fails when the file and the schema disagree.
package configref

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parapet-waf/parapet/internal/config"
)

// Key is one configuration key as the reference describes it.
type Key struct {
	// Path is the key's path: "edge.allowed_hosts", or "rules[].id" for a
	// key of the objects in a list.
	Path string
	// Type says what the key takes, in the reference's words.
	Type string
	// Default is the value Parapet uses when nothing sets the key,
	// formatted as YAML ("" for keys inside lists, which have none).
	Default string
	// Env is the environment variable that overrides it ("" for keys
	// inside lists: the whole list is set by its own variable).
	Env string
	// Doc is the doc comment of the struct field, as written.
	Doc string
	// Section is true for a key that holds other keys.
	Section bool
	depth   int
}

// Keys reads the doc comments of package config from srcDir (the
// directory of its source) and returns every key in schema order.
func Keys(srcDir string) ([]Key, error) {
	docs, err := fieldDocs(srcDir)
	if err != nil {
		return nil, err
	}
	var keys []Key
	walk(reflect.ValueOf(config.Default()).Elem(), "", false, 0, docs, &keys)
	return keys, nil
}

// Undocumented returns the paths of keys whose struct field has no doc
// comment.
func Undocumented(keys []Key) []string {
	var out []string
	for _, k := range keys {
		if strings.TrimSpace(k.Doc) == "" {
			out = append(out, k.Path)
		}
	}
	return out
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	byteSizeType = reflect.TypeOf(config.ByteSize(0))
	toggleType   = reflect.TypeOf(config.Toggle(""))
)

// walk appends the keys of struct v (a default value, or a zero element
// of a list when inList) under prefix.
func walk(v reflect.Value, prefix string, inList bool, depth int, docs map[string]map[string]string, keys *[]Key) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		fv := v.Field(i)
		k := Key{Path: path, Type: typeName(f.Type), Doc: userDoc(docs[t.Name()][f.Name], f.Name, docs[t.Name()], t), depth: depth}
		if !inList {
			k.Env = config.EnvName(path)
			k.Default = formatDefault(fv)
		}
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != durationType:
			k.Section, k.Env, k.Default = true, "", ""
			*keys = append(*keys, k)
			walk(fv, path, inList, depth+1, docs, keys)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			*keys = append(*keys, k)
			walk(reflect.New(f.Type.Elem()).Elem(), path+"[]", true, depth+1, docs, keys)
		default:
			*keys = append(*keys, k)
		}
	}
}

// typeName says what a field of type t takes.
func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration (`30s`, `5m`, `1h`)"
	case t == byteSizeType:
		return "size (`512`, `64KB`, `25MB`)"
	case t == toggleType:
		return "`true`, `false` or `auto`"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "`true` or `false`"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "whole number"
	case t.Kind() == reflect.Struct:
		return "section"
	case t.Kind() == reflect.Map:
		return "mapping of " + plain(t.Key()) + " to " + plain(t.Elem())
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "list of objects (keys below)"
	case t.Kind() == reflect.Slice:
		return "list of " + plain(t.Elem()) + "s"
	}
	return t.String()
}

func plain(t reflect.Type) string {
	if t.Kind() == reflect.Int {
		return "whole number"
	}
	return t.Kind().String()
}

// formatDefault writes a default value as it would be written in YAML.
func formatDefault(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return formatDuration(time.Duration(v.Int()))
	case v.Type() == byteSizeType:
		return config.ByteSize(v.Int()).String()
	case v.Kind() == reflect.String:
		if v.String() == "" {
			return `""`
		}
		return v.String()
	case v.Kind() == reflect.Bool, v.Kind() == reflect.Int, v.Kind() == reflect.Int64:
		return fmt.Sprint(v.Interface())
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Struct:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case v.Kind() == reflect.Slice && v.Len() == 0:
		return "[]"
	case v.Kind() == reflect.Map && v.Len() == 0:
		return "{}"
	}
	out, err := yaml.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return strings.TrimRight(yamlDurations.ReplaceAllStringFunc(string(out), func(s string) string {
		d, err := time.ParseDuration(s)
		if err != nil {
			return s
		}
		return formatDuration(d)
	}), "\n")
}

var camel = regexp.MustCompile(`[a-z][A-Z]`)

var yamlDurations = regexp.MustCompile(`\b\d+h\d+m\d+s\b|\b\d+m\d+s\b|\b\d+s\b`)

// formatDuration writes d in its largest exact unit (24h, 2m, 250ms).
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if d%u.unit == 0 {
			return fmt.Sprintf("%d%s", d/u.unit, u.name)
		}
	}
	return d.String()
}

// fieldDocs maps type name -> field name -> doc comment for every struct
// declared in the Go files of dir (tests excluded).
func fieldDocs(dir string) (map[string]map[string]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("reading the config schema: no Go files in %s", dir)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("reading the config schema: %w", err)
		}
		if f.Name.Name == "config" {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("reading the config schema: no package config in %s", dir)
	}
	docs := map[string]map[string]string{}
	for _, file := range files {
		ast.Inspect(file, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			fields := map[string]string{}
			for _, f := range st.Fields.List {
				doc := f.Doc.Text()
				if doc == "" {
					doc = f.Comment.Text()
				}
				for _, name := range f.Names {
					fields[name.Name] = doc
				}
			}
			docs[ts.Name.Name] = fields
			return false
		})
	}
	return docs, nil
}

// userDoc turns a field's doc comment into the reference's words: the
// Go names of the field and its siblings become their YAML keys.
func userDoc(doc, field string, siblings map[string]string, t reflect.Type) string {
	doc = strings.TrimSpace(doc)
	if doc == "" {
		return ""
	}
	keyOf := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			keyOf[f.Name] = tag
		}
	}
	// Only CamelCase names: a one-word name (Paths, Secure, Window) is
	// as likely to be the English word.
	var names []string
	for name := range siblings {
		if keyOf[name] != "" && camel.MatchString(name) {
			names = append(names, name)
		}
	}
	// Longest first, so HTTPSRedirectExempt is not read as HTTPSRedirect.
	sort.Slice(names, func(i, j int) bool {
		return len(names[i]) > len(names[j]) || len(names[i]) == len(names[j]) && names[i] < names[j]
	})
	if rest, ok := strings.CutPrefix(doc, field); ok && keyOf[field] != "" && wordEnd(doc, len(field)) {
		doc = "`" + keyOf[field] + "`" + rest
	}
	var paras []string
	for _, p := range strings.Split(doc, "\n\n") {
		p = strings.Join(strings.Fields(p), " ")
		for _, name := range names {
			p = replaceWord(p, name, "`"+keyOf[name]+"`")
		}
		paras = append(paras, p)
	}
	return strings.Join(paras, "\n\n")
}

// replaceWord replaces whole-word occurrences of name (not inside a
// dotted Go name such as Detection.OutboundThreshold, nor in code spans).
func replaceWord(s, name, with string) string {
	var b strings.Builder
	inCode := false
	for i := 0; i < len(s); {
		if s[i] == '`' {
			inCode = !inCode
		}
		if !inCode && strings.HasPrefix(s[i:], name) && boundary(s, i-1) && wordEnd(s, i+len(name)) {
			b.WriteString(with)
			i += len(name)
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// wordEnd reports whether a word ends at i: a sentence's full stop ends
// it, the dot of a Go selector does not.
func wordEnd(s string, i int) bool {
	if i < len(s) && s[i] == '.' {
		return i+1 == len(s) || s[i+1] == ' '
	}
	return boundary(s, i)
}

func boundary(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	c := s[i]
	return !(c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
}

// Markdown renders the reference.
func Markdown(keys []Key) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for _, k := range keys {
		if k.depth == 0 {
			fmt.Fprintf(&b, "\n## `%s`\n\n", k.Path)
		} else {
			fmt.Fprintf(&b, "\n### `%s`\n\n", k.Path)
		}
		var facts []string
		if !k.Section {
			facts = append(facts, "Type: "+k.Type)
		}
		if k.Env != "" {
			facts = append(facts, "env `"+k.Env+"`")
		}
		if k.Default != "" && !strings.Contains(k.Default, "\n") {
			facts = append(facts, "default `"+k.Default+"`")
		}
		if len(facts) > 0 {
			b.WriteString(strings.Join(facts, " · ") + "\n\n")
		}
		b.WriteString(escape(k.Doc) + "\n")
		if strings.Contains(k.Default, "\n") {
			fmt.Fprintf(&b, "\nDefault:\n\n```yaml\n%s\n```\n", k.Default)
		}
	}
	return b.Bytes()
}

// escape keeps Markdown from reading a doc comment's characters as
// markup: outside code spans, backslashes, asterisks, angle and square
// brackets, and underscores at a word's edge are escaped.
func escape(s string) string {
	var b strings.Builder
	inCode := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '`':
			inCode = !inCode
		case inCode:
		case c == '\\' || c == '*' || c == '<' || c == '[' || c == ']':
			b.WriteByte('\\')
		case c == '_' && (boundary(s, i-1) || boundary(s, i+1)):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

const header = `# Parapet configuration reference

<!-- Generated from the config schema (internal/config) by
     go generate ./internal/config   (or: make docs)
     Do not edit: TestConfigReferenceUpToDate fails when this file and the schema differ. -->

Every key Parapet reads, in the order of the schema, with its type, its default and the
environment variable that overrides it. ` + "`parapet.example.yaml`" + ` shows them in a file with
examples; ` + "`parapet check --config parapet.yaml`" + ` validates a config and prints the effective one.

Environment variables are named after the key's path (` + "`edge.allowed_hosts`" + ` ->
` + "`PARAPET_EDGE_ALLOWED_HOSTS`" + `) and win over the file. Lists are comma-separated
(` + "`PARAPET_EDGE_ALLOWED_HOSTS=www.example.com,.example.com`" + `); lists of objects and mappings
are YAML or JSON (` + "`PARAPET_RULES='[{id: office, action: allow, ips: [203.0.113.0/24]}]'`" + `), so the
keys of a list's objects (` + "`rules[].id`" + `) have no variable of their own. An unknown ` + "`PARAPET_*`" + `
variable is an error, like an unknown key in the file. Besides those:

- ` + "`PORT`" + ` sets ` + "`listen`" + ` to ` + "`:$PORT`" + ` when ` + "`listen`" + ` is empty (Heroku).
- ` + "`DYNO`" + ` (set on every Heroku dyno) makes ` + "`trusted_proxies`" + ` default to ` + "`[heroku]`" + `.
- ` + "`REDIS_URL`" + ` is ` + "`store.url`" + ` when that is empty (Heroku Key-Value Store).
- ` + "`PARAPET_SECRET`" + ` sets ` + "`challenge.secret`" + ` (` + "`PARAPET_CHALLENGE_SECRET`" + ` wins when both are set).
- ` + "`PARAPET_CONFIG`" + ` names the config file when ` + "`--config`" + ` is not given.

Durations are Go durations (` + "`250ms`, `30s`, `5m`, `1h`" + `); sizes are bytes or a number with a unit
(` + "`64KB`, `10MB`, `1GB`" + `; KB and KiB both mean 1024 bytes).
`
