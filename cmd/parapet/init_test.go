package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyFixture copies testdata/init/NAME to a temporary directory.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "init", name))); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runInit(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cmdInit(args, &out, &errb)
	return out.String(), errb.String(), code
}

// parapet init on fixture projects writes a parapet.yaml that parapet
// check accepts, with what it could read from the project, says what it
// could not tell, proposes the Procfile line, and never replaces a file
// that differs without --force.
func TestInitWritesCheckedConfigForFixtureProjects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		yaml    []string // in parapet.yaml
		notYAML []string
		out     []string // in the output
	}{
		{"plain",
			[]string{`allowed_hosts: ["www.example.com", ".example.org", "localhost"]`, `admin_paths: ["/staff-area/"]`,
				`skip_paths: ["/static/", "/uploads/"]`, `paths: ["/signin/", "/staff-area/login/"]`,
				`exempt_paths: ["/hooks/github/", "/shop/paypal/webhook/", "/webhooks/stripe/"]`, "# trusted_proxies: [heroku]"},
			[]string{"\ntrusted_proxies:"},
			[]string{"+web: parapet -- gunicorn mysite.wsgi", "PARAPET_SECRET=", "PARAPET_METRICS_TOKEN="}},
		{"split",
			[]string{"Read from config/settings/production.py, config/settings/base.py (settings config.settings.production)",
				"# Cannot tell ALLOWED_HOSTS: config/settings/base.py:4 is not a literal", `admin_paths: ["/admin/"]`,
				`skip_paths: ["/assets/"]`, "\ntrusted_proxies: [heroku]"},
			[]string{"\n  allowed_hosts:", "rate_limits:", "under_attack:"},
			[]string{"-web: uvicorn config.asgi:application --host 0.0.0.0 --port $PORT",
				"+web: parapet -- uvicorn config.asgi:application --host 0.0.0.0 --port $PORT",
				"cannot tell ALLOWED_HOSTS: config/settings/base.py:4"}},
		{"release",
			[]string{"# Cannot tell ALLOWED_HOSTS: app/settings.py:4 assigns it inside a block", `except_paths: ["/payments/webhook"]`,
				`exempt_paths: ["/payments/webhook"]`},
			[]string{"rl-login-app"},
			[]string{" release: python manage.py migrate --noinput\n-web: gunicorn app.wsgi --log-file -\n+web: parapet -- gunicorn app.wsgi --log-file -\n worker: celery -A app worker"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyFixture(t, tc.name)
			out, errOut, code := runInit(t, dir)
			if code != 0 {
				t.Fatalf("init: exit %d\n%s\n%s", code, out, errOut)
			}
			dest := filepath.Join(dir, "parapet.yaml")
			written, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.yaml {
				if !strings.Contains(string(written), w) {
					t.Errorf("parapet.yaml lacks %q:\n%s", w, written)
				}
			}
			for _, w := range tc.notYAML {
				if strings.Contains(string(written), w) {
					t.Errorf("parapet.yaml has %q:\n%s", w, written)
				}
			}
			for _, w := range tc.out {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if procfile, _ := os.ReadFile(filepath.Join(dir, "Procfile")); strings.Contains(string(procfile), "parapet") {
				t.Errorf("init wrote the Procfile: %s", procfile)
			}

			var chk, chkErr bytes.Buffer
			if code := cmdCheck([]string{"--config", dest}, &chk, &chkErr); code != 0 {
				t.Fatalf("parapet check refuses the written config (%d):\n%s\n%s", code, chkErr.String(), written)
			}

			// The same run again: nothing to do.
			if out, _, code := runInit(t, dir); code != 0 || !strings.Contains(out, "is up to date") {
				t.Errorf("second run: %d\n%s", code, out)
			}
			// A file the team edited is not replaced, and the difference is shown.
			edited := string(written) + "rules:\n  - id: office\n    action: allow\n    ips: [203.0.113.0/24]\n"
			if err := os.WriteFile(dest, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, code = runInit(t, dir)
			if code != 1 || !strings.Contains(errOut, "not replaced: it exists (run with --force") || !strings.Contains(out, "-  - id: office") {
				t.Errorf("init over an edited file: exit %d\n%s\n%s", code, out, errOut)
			}
			if now, _ := os.ReadFile(dest); string(now) != edited {
				t.Fatalf("init clobbered the edited file:\n%s", now)
			}
			if _, _, code := runInit(t, "--dry-run", "--force", dir); code != 0 {
				t.Errorf("--dry-run --force: %d", code)
			}
			if now, _ := os.ReadFile(dest); string(now) != edited {
				t.Fatalf("--dry-run wrote the file")
			}
			if _, errOut, code := runInit(t, "--force", dir); code != 0 {
				t.Fatalf("--force: %d %s", code, errOut)
			}
			if now, _ := os.ReadFile(dest); string(now) != string(written) {
				t.Fatalf("--force did not write the generated file")
			}
		})
	}
}

func TestInitOutsideADjangoProject(t *testing.T) {
	_, errOut, code := runInit(t, t.TempDir())
	if code != 1 || !strings.Contains(errOut, "no manage.py in") {
		t.Fatalf("%d %s", code, errOut)
	}
}
