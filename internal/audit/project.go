// Package audit checks a Django project's source against Parapet's
// security checklist for Django on Heroku, without running Python: the
// settings (read with a real Python parser, split settings followed, values
// read from the environment judged by their defaults, values computed at
// run time reported as such), the project's files (Procfile, runtime,
// requirements, .gitignore), secrets in the tree and in git history, and
// raw SQL built from strings.
package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parapet-waf/parapet/internal/findings"
	"github.com/parapet-waf/parapet/internal/pyparse"
)

// Options tune an audit.
type Options struct {
	// Settings is a settings module to audit instead of the one manage.py
	// names (and its production sibling).
	Settings string
	// NoHistory skips the git history.
	NoHistory bool
}

// Run audits the Django project at root.
func Run(root string, opt Options) (*findings.Report, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}
	a := &auditor{root: root, rep: &findings.Report{Tool: "audit", Target: root, Rules: Rules}}
	settings, notes, err := a.findSettings(opt.Settings)
	if err != nil {
		return nil, err
	}
	a.rep.Notes = append(a.rep.Notes, notes...)
	a.settingsFile = settings
	a.s = evalSettings(root, settings)
	a.rep.Notes = append(a.rep.Notes, fmt.Sprintf("settings read: %s", strings.Join(a.s.Files, " -> ")))
	a.rep.Notes = append(a.rep.Notes, a.s.Notes...)
	a.checkSettings()
	a.checkFiles()
	a.checkSecrets(opt.NoHistory)
	a.checkSQL()
	a.rep.Sort()
	return a.rep, nil
}

type auditor struct {
	root         string
	rep          *findings.Report
	settingsFile string
	s            *Settings
	pyFiles      []string // every project .py file (relative), lazily
}

// findSettings returns the settings file to audit, relative to root.
func (a *auditor) findSettings(module string) (string, []string, error) {
	var notes []string
	if module != "" {
		rel := moduleToFile(a.root, module)
		if rel == "" {
			return "", nil, fmt.Errorf("settings module %s: no such file under %s", module, a.root)
		}
		return rel, nil, nil
	}
	module = a.settingsFromManage()
	if module != "" {
		rel := moduleToFile(a.root, module)
		if rel == "" {
			return "", nil, fmt.Errorf("settings module %s: no %s.py or %s/__init__.py under %s", module,
				filepath.Join(strings.Split(module, ".")...), filepath.Join(strings.Split(module, ".")...), a.root)
		}
		if prod := productionSibling(a.root, rel); prod != "" {
			notes = append(notes, fmt.Sprintf("%s is the default settings module (%s); auditing its production sibling %s", module, rel, prod))
			return prod, notes, nil
		}
		return rel, notes, nil
	}
	// No manage.py: the only settings.py (or settings/ package) there is.
	var cands []string
	_ = filepath.WalkDir(a.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && skipDir(d.Name()) && p != a.root {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(a.root, p)
		if !d.IsDir() && d.Name() == "settings.py" || d.IsDir() && d.Name() == "settings" && exists(filepath.Join(p, "__init__.py")) {
			cands = append(cands, rel)
		}
		return nil
	})
	if len(cands) == 0 {
		return "", nil, errors.New("no manage.py naming DJANGO_SETTINGS_MODULE and no settings.py found: give the project's directory, or --settings MODULE")
	}
	sort.Strings(cands)
	rel := cands[0]
	if !strings.HasSuffix(rel, ".py") {
		if prod := productionSibling(a.root, filepath.Join(rel, "__init__.py")); prod != "" {
			return prod, nil, nil
		}
		rel = filepath.Join(rel, "__init__.py")
	}
	if len(cands) > 1 {
		notes = append(notes, fmt.Sprintf("several settings found (%s); audited %s (--settings to choose)", strings.Join(cands, ", "), rel))
	}
	return rel, notes, nil
}

// settingsFromManage reads DJANGO_SETTINGS_MODULE's default from
// manage.py (os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x.settings")).
func (a *auditor) settingsFromManage() string {
	for _, f := range []string{"manage.py", "wsgi.py"} {
		src, err := os.ReadFile(filepath.Join(a.root, f))
		if err != nil {
			continue
		}
		found := ""
		walkExprs(pyparse.Parse(string(src)).Body, func(x pyparse.Expr) {
			c, ok := x.(*pyparse.Call)
			if !ok || len(c.Args) < 2 || found != "" {
				return
			}
			k, ok1 := c.Args[0].(*pyparse.Const)
			v, ok2 := c.Args[1].(*pyparse.Const)
			if ok1 && ok2 && k.Str == "DJANGO_SETTINGS_MODULE" && v.Kind == "str" {
				found = v.Str
			}
		})
		if found != "" {
			return found
		}
	}
	return ""
}

func moduleToFile(root, module string) string {
	base := filepath.Join(strings.Split(module, ".")...)
	for _, c := range []string{base + ".py", filepath.Join(base, "__init__.py")} {
		if exists(filepath.Join(root, c)) {
			return c
		}
	}
	return ""
}

// productionSibling finds settings/production.py (prod.py, heroku.py)
// next to a split settings module that is not itself production.
func productionSibling(root, rel string) string {
	dir := filepath.Dir(rel)
	base := strings.TrimSuffix(filepath.Base(rel), ".py")
	if base == "settings" {
		return ""
	}
	switch base {
	case "production", "prod", "heroku", "live":
		return ""
	}
	for _, name := range []string{"production.py", "prod.py", "heroku.py"} {
		if exists(filepath.Join(root, dir, name)) {
			return filepath.Join(dir, name)
		}
	}
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func skipDir(name string) bool {
	switch name {
	case ".git", "node_modules", "venv", ".venv", "env", ".tox", "__pycache__", "site-packages", "staticfiles", ".mypy_cache", ".pytest_cache", "dist", "build":
		return true
	}
	return false
}

// pythonFiles lists the project's .py files (relative), skipping
// virtualenvs and dependencies.
func (a *auditor) pythonFiles() []string {
	if a.pyFiles != nil {
		return a.pyFiles
	}
	a.pyFiles = []string{}
	_ = filepath.WalkDir(a.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p != a.root && (skipDir(d.Name()) || exists(filepath.Join(p, "pyvenv.cfg"))) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".py") {
			rel, _ := filepath.Rel(a.root, p)
			a.pyFiles = append(a.pyFiles, rel)
		}
		return nil
	})
	return a.pyFiles
}

// walkExprs calls f on every expression in body, nested ones included.
func walkExprs(body []pyparse.Stmt, f func(pyparse.Expr)) {
	var ex func(x pyparse.Expr)
	ex = func(x pyparse.Expr) {
		if x == nil {
			return
		}
		f(x)
		switch x := x.(type) {
		case *pyparse.Call:
			ex(x.Func)
			for _, a := range x.Args {
				ex(a)
			}
			for _, k := range x.Keywords {
				ex(k.Value)
			}
		case *pyparse.Attribute:
			ex(x.X)
		case *pyparse.Subscript:
			ex(x.X)
			ex(x.Index)
		case *pyparse.BinOp:
			ex(x.L)
			ex(x.R)
		case *pyparse.UnaryOp:
			ex(x.X)
		case *pyparse.BoolOp:
			for _, v := range x.Values {
				ex(v)
			}
		case *pyparse.Compare:
			ex(x.L)
			for _, r := range x.Rs {
				ex(r)
			}
		case *pyparse.IfExp:
			ex(x.Test)
			ex(x.Body)
			ex(x.Else)
		case *pyparse.List:
			for _, e := range x.Elts {
				ex(e)
			}
		case *pyparse.Tuple:
			for _, e := range x.Elts {
				ex(e)
			}
		case *pyparse.Set:
			for _, e := range x.Elts {
				ex(e)
			}
		case *pyparse.Dict:
			for i := range x.Keys {
				ex(x.Keys[i])
				ex(x.Values[i])
			}
		case *pyparse.FString:
			for _, p := range x.Parts {
				ex(p)
			}
		case *pyparse.Comp:
			ex(x.Key)
			ex(x.Elt)
			for _, fr := range x.Fors {
				ex(fr.Iter)
				for _, i := range fr.Ifs {
					ex(i)
				}
			}
		case *pyparse.NamedExpr:
			ex(x.Value)
		case *pyparse.Starred:
			ex(x.X)
		case *pyparse.Await:
			ex(x.X)
		case *pyparse.Yield:
			ex(x.X)
		case *pyparse.Lambda:
			ex(x.Body)
		}
	}
	var st func(body []pyparse.Stmt)
	st = func(body []pyparse.Stmt) {
		for _, s := range body {
			switch s := s.(type) {
			case *pyparse.Assign:
				for _, t := range s.Targets {
					ex(t)
				}
				ex(s.Value)
			case *pyparse.AugAssign:
				ex(s.Value)
			case *pyparse.AnnAssign:
				ex(s.Value)
			case *pyparse.ExprStmt:
				ex(s.X)
			case *pyparse.Return:
				ex(s.Value)
			case *pyparse.Simple:
				for _, e := range s.Exprs {
					ex(e)
				}
			case *pyparse.If:
				ex(s.Test)
				st(s.Body)
				st(s.Else)
			case *pyparse.For:
				ex(s.Iter)
				st(s.Body)
				st(s.Else)
			case *pyparse.While:
				ex(s.Test)
				st(s.Body)
				st(s.Else)
			case *pyparse.Try:
				st(s.Body)
				for _, h := range s.Handlers {
					st(h.Body)
				}
				st(s.Else)
				st(s.Finally)
			case *pyparse.With:
				for _, it := range s.Items {
					ex(it.Context)
				}
				st(s.Body)
			case *pyparse.FuncDef:
				for _, d := range s.Decorators {
					ex(d)
				}
				st(s.Body)
			case *pyparse.ClassDef:
				st(s.Body)
			}
		}
	}
	st(body)
}
