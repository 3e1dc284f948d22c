// Package djangoproj reads what Parapet needs to know from a Django
// project's files, without running Python: the WSGI/ASGI module, the
// settings module (from manage.py, split settings followed through star
// imports), literal settings (ALLOWED_HOSTS, STATIC_URL...), the admin,
// login and webhook paths of urls.py, and the Procfile. It reads literals
// only: a value computed at run time (os.environ, env.list(...)) is
// reported as unknown with the reason, never guessed.
package djangoproj

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Value is a setting as the files say it.
type Value struct {
	// Known is true when the value is a literal Parapet could read.
	Known bool
	// Str is a string value; List a list or tuple of strings.
	Str    string
	List   []string
	IsList bool
	// Bool is a True/False value (IsBool set).
	Bool   bool
	IsBool bool
	// Where is file:line of the assignment that decided it.
	Where string
	// Why says why the value is unknown.
	Why string
}

// Procfile is a Heroku Procfile: its process types in order.
type Procfile struct {
	Path  string
	Names []string
	Cmds  map[string]string
}

// Project is what Scan found.
type Project struct {
	// Root is the project directory (where manage.py is).
	Root string
	// SettingsModule is DJANGO_SETTINGS_MODULE ("mysite.settings").
	SettingsModule string
	// SettingsFiles are the files read for the settings, in order.
	SettingsFiles []string
	// Settings holds the settings that were assigned, by name.
	Settings map[string]Value
	// AppModule is what the web server runs: "mysite.wsgi" or
	// "mysite.asgi:application"; ASGI says which kind it is.
	AppModule string
	ASGI      bool
	// Procfile is the project's Procfile, or nil.
	Procfile *Procfile
	// URLs is what urls.py says.
	URLs URLs
	// Notes are what could not be told, in words for the user.
	Notes []string
}

// Scan reads the Django project at root.
func Scan(root string) (*Project, error) {
	p := &Project{Root: root, Settings: map[string]Value{}}
	manage := filepath.Join(root, "manage.py")
	src, err := os.ReadFile(manage)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no manage.py in %s: run parapet init in a Django project's directory (or give its path)", root)
		}
		return nil, err
	}
	p.SettingsModule = settingsDefault(string(src))
	if pf, err := readProcfile(filepath.Join(root, "Procfile")); err == nil {
		p.Procfile = pf
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if p.SettingsModule == "" {
		p.note("cannot tell the settings module: manage.py sets no literal DJANGO_SETTINGS_MODULE")
	} else {
		seen := map[string]bool{}
		if !p.readSettings(p.SettingsModule, seen) {
			p.note("cannot find the settings module %s under %s", p.SettingsModule, root)
		}
	}
	p.findApp()
	if v := p.Settings["ROOT_URLCONF"]; v.Known && v.Str != "" {
		p.URLs = readURLs(root, v.Str)
		p.Notes = append(p.Notes, p.URLs.Notes...)
	} else if len(p.SettingsFiles) > 0 {
		p.note("cannot tell ROOT_URLCONF (%s): admin, login and webhook paths not looked for", whyNot(v))
	}
	return p, nil
}

func (p *Project) note(format string, args ...any) {
	p.Notes = append(p.Notes, fmt.Sprintf(format, args...))
}

func whyNot(v Value) string {
	if v.Why != "" {
		return v.Why
	}
	return "not set"
}

// Setting returns a setting and whether it is a known literal.
func (p *Project) Setting(name string) (Value, bool) {
	v, ok := p.Settings[name]
	return v, ok && v.Known
}

// settingsDefault finds os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x").
func settingsDefault(src string) string {
	toks := tokenize(src)
	for i := 0; i+5 < len(toks); i++ {
		if toks[i].kind == tName && toks[i].text == "setdefault" && toks[i+1].text == "(" &&
			toks[i+2].kind == tString && toks[i+2].text == "DJANGO_SETTINGS_MODULE" &&
			toks[i+3].text == "," && toks[i+4].kind == tString && !toks[i+4].raw {
			return toks[i+4].text
		}
	}
	return ""
}

// moduleFile finds a module's file under root: a/b.py or a/b/__init__.py.
func moduleFile(root, module string) (string, bool) {
	base := filepath.Join(append([]string{root}, strings.Split(module, ".")...)...)
	if st, err := os.Stat(base + ".py"); err == nil && !st.IsDir() {
		return base + ".py", false
	}
	if _, err := os.Stat(filepath.Join(base, "__init__.py")); err == nil {
		return filepath.Join(base, "__init__.py"), true
	}
	return "", false
}

// readSettings reads a settings module's assignments into p.Settings,
// following star imports of the project's own modules (split settings:
// `from .base import *`). It reports whether the module was found.
func (p *Project) readSettings(module string, seen map[string]bool) bool {
	if seen[module] {
		return true
	}
	seen[module] = true
	file, isPkg := moduleFile(p.Root, module)
	if file == "" {
		return false
	}
	src, err := os.ReadFile(file)
	if err != nil {
		p.note("cannot read %s: %v", file, err)
		return true
	}
	rel, _ := filepath.Rel(p.Root, file)
	p.SettingsFiles = append(p.SettingsFiles, rel)
	pkg := module
	if !isPkg {
		if i := strings.LastIndexByte(module, '.'); i >= 0 {
			pkg = module[:i]
		} else {
			pkg = ""
		}
	}
	for _, st := range statements(tokenize(string(src))) {
		where := fmt.Sprintf("%s:%d", rel, st[0].line)
		// from .base import *  /  from mysite.settings.base import *
		if st[0].kind == tName && st[0].text == "from" && len(st) >= 4 && st[len(st)-1].text == "*" && st[len(st)-2].text == "import" {
			target := importTarget(pkg, st[1:len(st)-2])
			if target != "" && !p.readSettings(target, seen) && st[0].col == 0 {
				p.note("%s: star import of %s, which is not in the project: its settings are unknown", where, target)
			}
			continue
		}
		if len(st) < 3 || st[0].kind != tName || st[1].kind != tOp {
			continue
		}
		name := st[0].text
		switch st[1].text {
		case "=":
			if st[0].col != 0 {
				p.Settings[name] = Value{Where: where, Why: where + " assigns it inside a block (if/try/def)"}
				continue
			}
			v, ok := literal(st[2:])
			v.Where = where
			if !ok {
				v = Value{Where: where, Why: where + " is not a literal (computed when Django starts)"}
			}
			p.Settings[name] = v
		case "+=", "-=", "|=":
			p.Settings[name] = Value{Where: where, Why: where + " changes it with " + st[1].text}
		}
	}
	return true
}

// importTarget resolves the module of `from X import *` within pkg.
func importTarget(pkg string, toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		if t.kind != tName && t.text != "." {
			return ""
		}
		b.WriteString(t.text)
	}
	s := b.String()
	if !strings.HasPrefix(s, ".") {
		return s
	}
	dots := len(s) - len(strings.TrimLeft(s, "."))
	base := pkg
	for i := 1; i < dots; i++ {
		if j := strings.LastIndexByte(base, '.'); j >= 0 {
			base = base[:j]
		} else {
			base = ""
		}
	}
	rest := s[dots:]
	switch {
	case base == "":
		return rest
	case rest == "":
		return base
	}
	return base + "." + rest
}

// literal reads a Python literal: a string (adjacent strings joined), a
// list or tuple of strings, True/False, None or a number.
func literal(toks []token) (Value, bool) {
	if len(toks) == 0 {
		return Value{}, false
	}
	switch t := toks[0]; {
	case t.kind == tString:
		var b strings.Builder
		for _, s := range toks {
			if s.kind != tString || s.raw {
				return Value{}, false
			}
			b.WriteString(s.text)
		}
		return Value{Known: true, Str: b.String()}, true
	case t.kind == tName && len(toks) == 1:
		switch t.text {
		case "True", "False":
			return Value{Known: true, IsBool: true, Bool: t.text == "True"}, true
		case "None":
			return Value{Known: true}, true
		}
	case t.kind == tNumber && len(toks) == 1:
		return Value{Known: true, Str: t.text}, true
	case t.text == "[" || t.text == "(":
		closer := map[string]string{"[": "]", "(": ")"}[t.text]
		if toks[len(toks)-1].text != closer {
			return Value{}, false
		}
		v := Value{Known: true, IsList: true, List: []string{}}
		inner := toks[1 : len(toks)-1]
		for len(inner) > 0 {
			j := 0
			var b strings.Builder
			for j < len(inner) && inner[j].kind == tString && !inner[j].raw {
				b.WriteString(inner[j].text)
				j++
			}
			if j == 0 {
				return Value{}, false
			}
			v.List = append(v.List, b.String())
			inner = inner[j:]
			if len(inner) > 0 {
				if inner[0].text != "," {
					return Value{}, false
				}
				inner = inner[1:]
			}
		}
		return v, true
	}
	return Value{}, false
}

func readProcfile(path string) (*Procfile, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pf := &Procfile{Path: path, Cmds: map[string]string{}}
	for _, line := range strings.Split(string(src), "\n") {
		name, cmd, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.HasPrefix(name, "#") || strings.ContainsAny(name, " \t") {
			continue
		}
		if _, dup := pf.Cmds[name]; !dup {
			pf.Names = append(pf.Names, name)
		}
		pf.Cmds[name] = strings.TrimSpace(cmd)
	}
	return pf, nil
}

var appArg = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)(:[A-Za-z_][A-Za-z0-9_.()]*)?$`)

// findApp sets AppModule: from the Procfile's web command, then the
// WSGI_APPLICATION / ASGI_APPLICATION settings, then a wsgi.py or asgi.py
// beside the settings.
func (p *Project) findApp() {
	if p.Procfile != nil {
		if web := p.Procfile.Cmds["web"]; web != "" {
			for _, f := range strings.Fields(web) {
				if m := appArg.FindStringSubmatch(f); m != nil && (strings.HasSuffix(m[1], "wsgi") || strings.HasSuffix(m[1], "asgi")) {
					p.AppModule, p.ASGI = f, strings.HasSuffix(m[1], "asgi")
					return
				}
			}
		}
	}
	for _, s := range []struct {
		name string
		asgi bool
	}{{"WSGI_APPLICATION", false}, {"ASGI_APPLICATION", true}} {
		if v, ok := p.Setting(s.name); ok && v.Str != "" {
			i := strings.LastIndexByte(v.Str, '.')
			if i > 0 {
				if f, _ := moduleFile(p.Root, v.Str[:i]); f != "" {
					p.AppModule, p.ASGI = v.Str[:i], s.asgi
					if v.Str[i+1:] != "application" {
						p.AppModule += ":" + v.Str[i+1:]
					}
					return
				}
			}
		}
	}
	// A wsgi.py (or asgi.py) next to the settings, or anywhere two levels down.
	var found []string
	for _, name := range []string{"wsgi.py", "asgi.py"} {
		m1, _ := filepath.Glob(filepath.Join(p.Root, "*", name))
		m2, _ := filepath.Glob(filepath.Join(p.Root, "*", "*", name))
		found = append(found, m1...)
		found = append(found, m2...)
	}
	sort.SliceStable(found, func(i, j int) bool {
		return strings.HasSuffix(found[i], "wsgi.py") && !strings.HasSuffix(found[j], "wsgi.py")
	})
	for _, f := range found {
		rel, _ := filepath.Rel(p.Root, f)
		if strings.Contains(rel, "site-packages") || strings.HasPrefix(rel, ".") {
			continue
		}
		mod := strings.ReplaceAll(strings.TrimSuffix(rel, ".py"), string(filepath.Separator), ".")
		p.AppModule, p.ASGI = mod, strings.HasSuffix(mod, "asgi")
		return
	}
	p.note("cannot find the WSGI/ASGI module (no Procfile web line, WSGI_APPLICATION or wsgi.py)")
}
