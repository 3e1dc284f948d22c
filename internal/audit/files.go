package audit

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/parapet-waf/parapet/internal/findings"
)

func (a *auditor) checkFiles() {
	a.checkRuntime()
	a.checkProcfile()
	a.checkRequirements()
	a.checkEnvIgnored()
}

func (a *auditor) checkRuntime() {
	for _, f := range []string{".python-version", "runtime.txt"} {
		b, err := os.ReadFile(filepath.Join(a.root, f))
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			a.rep.Add(rRuntime, findings.Warn, f, 1, "%s is empty", f)
		} else {
			a.rep.Add(rRuntime, findings.Pass, f, 1, "%s pins %s", f, v)
		}
		return
	}
	a.rep.Add(rRuntime, findings.Warn, "", 0, "neither .python-version nor runtime.txt: Heroku picks its default Python")
}

var (
	prodServer = regexp.MustCompile(`(^|[\s/])(gunicorn|uvicorn|daphne|waitress-serve|uwsgi|hypercorn|granian)(\s|$)`)
	runserver  = regexp.MustCompile(`manage\.py\s+runserver|django-admin\s+runserver`)
)

func (a *auditor) checkProcfile() {
	f, err := os.Open(filepath.Join(a.root, "Procfile"))
	if err != nil {
		a.rep.Add(rProcfile, findings.Warn, "", 0, "no Procfile: Heroku does not know how to start the app")
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		name, cmd, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(name) != "web" {
			continue
		}
		cmd = strings.TrimSpace(cmd)
		switch {
		case runserver.MatchString(cmd):
			a.rep.Add(rProcfile, findings.Fail, "Procfile", line, "the web process is Django's development server: %s", cmd)
		case prodServer.MatchString(cmd):
			a.rep.Add(rProcfile, findings.Pass, "Procfile", line, "web: %s", cmd)
		default:
			a.rep.Add(rProcfile, findings.Warn, "Procfile", line, "the web process is not a known production server: %s", cmd)
		}
		return
	}
	a.rep.Add(rProcfile, findings.Warn, "Procfile", 0, "the Procfile has no web process")
}

var reqName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?`)

func (a *auditor) checkRequirements() {
	for _, lock := range []string{"Pipfile.lock", "poetry.lock", "uv.lock", "pdm.lock"} {
		if exists(filepath.Join(a.root, lock)) {
			a.rep.Add(rRequirements, findings.Pass, lock, 0, "dependencies are locked in %s", lock)
			return
		}
	}
	f, err := os.Open(filepath.Join(a.root, "requirements.txt"))
	if err != nil {
		a.rep.Add(rRequirements, findings.Warn, "", 0, "no requirements.txt or lock file")
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line, bad := 0, 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if i := strings.Index(l, " #"); i >= 0 {
			l = strings.TrimSpace(l[:i])
		}
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "-") {
			continue // comments, -r other.txt, --hash continuation lines, -e
		}
		l = strings.TrimSuffix(l, "\\")
		spec := strings.TrimSpace(strings.SplitN(l, ";", 2)[0])
		name := reqName.FindString(spec)
		if name == "" {
			continue
		}
		rest := strings.TrimSpace(spec[len(name):])
		if strings.HasPrefix(rest, "==") && !strings.ContainsAny(rest, "*,") || strings.HasPrefix(rest, "===") || strings.HasPrefix(rest, "@") {
			continue
		}
		what := "no version"
		if rest != "" {
			what = rest
		}
		a.rep.Add(rRequirements, findings.Fail, "requirements.txt", line, "%s is not pinned (%s)", name, what)
		bad++
	}
	if bad == 0 {
		a.rep.Add(rRequirements, findings.Pass, "requirements.txt", 0, "every requirement is pinned with ==")
	}
}

// gitignored reports whether .gitignore's patterns ignore the file name
// (a simple reading: exact names, globs, negations; the last match wins).
func gitignored(patterns []string, name string) (bool, int) {
	ignored, line := false, 0
	for i, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/")
		p = strings.TrimPrefix(p, "**/")
		if ok, _ := filepath.Match(p, name); ok {
			ignored, line = !neg, i+1
		}
	}
	return ignored, line
}

func (a *auditor) checkEnvIgnored() {
	b, err := os.ReadFile(filepath.Join(a.root, ".gitignore"))
	envExists := exists(filepath.Join(a.root, ".env"))
	if err != nil {
		if envExists {
			a.rep.Add(rEnvIgnored, findings.Fail, ".env", 0, ".env exists and there is no .gitignore")
		} else {
			a.rep.Add(rEnvIgnored, findings.Warn, "", 0, "no .gitignore: a .env file would be committed with git add .")
		}
		return
	}
	ign, line := gitignored(strings.Split(string(b), "\n"), ".env")
	switch {
	case ign:
		a.rep.Add(rEnvIgnored, findings.Pass, ".gitignore", line, ".gitignore ignores .env")
	case envExists:
		a.rep.Add(rEnvIgnored, findings.Fail, ".gitignore", line, ".env exists and .gitignore does not ignore it")
	default:
		a.rep.Add(rEnvIgnored, findings.Warn, ".gitignore", line, ".gitignore does not ignore .env")
	}
}
