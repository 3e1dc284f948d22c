// Package buildpack_test drives the buildpack's shell scripts the way
// Heroku does: bin/compile on a fixture Django app, then the Procfile's web
// process started from the built slug with PORT and DYNO set.
package buildpack_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

var parapetBin string

func TestMain(m *testing.M) { os.Exit(testenv.RunWithParapet(m, &parapetBin)) }

// bpDir is this buildpack (the directory of the test).
func bpDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// release serves the binary as a release would, on loopback: the real one
// at /parapet-linux-ARCH, a corrupt copy (one byte changed) at /corrupt,
// nothing at /missing.
func release(t *testing.T) (srv *httptest.Server, sum string, bin []byte) {
	t.Helper()
	bin, err := os.ReadFile(parapetBin)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(bin)
	corrupt := bytes.Clone(bin)
	corrupt[len(corrupt)/2] ^= 0xff
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/parapet-linux-"+runtime.GOARCH):
			w.Write(bin)
		case r.URL.Path == "/corrupt":
			w.Write(corrupt)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, hex.EncodeToString(h[:]), bin
}

// app lays out a Django project as a Heroku build directory: the test app,
// a Procfile whose web process starts gunicorn behind Parapet with no
// --bind, and parapet.yaml.
func app(t *testing.T, parapetYAML string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(testenv.DjangoAppDir())); err != nil {
		t.Fatal(err)
	}
	procfile := "release: python3 manage.py check\nweb: parapet -- gunicorn testapp.wsgi --workers 1 --log-level warning\n"
	write(t, filepath.Join(dir, "Procfile"), procfile)
	write(t, filepath.Join(dir, "requirements.txt"), "Django>=3.2\ngunicorn\n")
	if parapetYAML != "" {
		write(t, filepath.Join(dir, "parapet.yaml"), parapetYAML)
	}
	return dir
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// envDir writes Heroku's ENV_DIR: one file per config var.
func envDir(t *testing.T, vars map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for k, v := range vars {
		write(t, filepath.Join(dir, k), v)
	}
	return dir
}

// compile runs bp's bin/compile BUILD_DIR CACHE_DIR ENV_DIR and returns its
// output and exit status. PATH is the system's, less Go unless withGo.
func compile(t *testing.T, bp, build, env string, withGo bool) (string, int) {
	t.Helper()
	// compile writes BP_DIR/export for later buildpacks: not left in the checkout.
	if _, err := os.Stat(filepath.Join(bp, "export")); os.IsNotExist(err) {
		t.Cleanup(func() { os.Remove(filepath.Join(bp, "export")) })
	}
	cmd := exec.Command(filepath.Join(bp, "bin", "compile"), build, t.TempDir(), env)
	cmd.Env = buildEnv(withGo)
	out, _ := cmd.CombinedOutput()
	return string(out), cmd.ProcessState.ExitCode()
}

func buildEnv(withGo bool) []string {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + os.TempDir(), "LANG=C.UTF-8"}
	if withGo {
		goBin, _ := exec.LookPath("go")
		env[0] = "PATH=" + filepath.Dir(goBin) + ":/usr/local/bin:/usr/bin:/bin"
		for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY"} {
			if out, err := exec.Command("go", "env", k).Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
				env = append(env, k+"="+string(bytes.TrimSpace(out)))
			}
		}
	}
	return env
}

// startWeb starts the Procfile's web process as Heroku's dyno manager does:
// in the slug (HOME), .profile.d sourced, PORT and DYNO set. It returns the
// process, its address and when it was started.
func startWeb(t *testing.T, slug string) (*testenv.Process, string, time.Time) {
	t.Helper()
	procfile, err := os.ReadFile(filepath.Join(slug, "Procfile"))
	if err != nil {
		t.Fatal(err)
	}
	var web string
	for _, line := range strings.Split(string(procfile), "\n") {
		if c, ok := strings.CutPrefix(line, "web:"); ok {
			web = strings.TrimSpace(c)
		}
	}
	addr := testenv.FreeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + slug, "PORT=" + port, "DYNO=web.1", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"}
	launcher := `cd "$HOME" && for f in "$HOME"/.profile.d/*.sh; do . "$f"; done && eval "exec $1"`
	start := time.Now()
	p := testenv.StartProcess(t, "/bin/bash", env, "-c", launcher, "web", web)
	return p, addr, start
}

// waitAnswers returns how long after start the address first answered any
// HTTP response, and first answered path with want.
func waitAnswers(t *testing.T, p *testenv.Process, addr, path string, want int, start time.Time) (first, ready time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := start.Add(60 * time.Second) // Heroku's boot timeout
	for time.Now().Before(deadline) {
		select {
		case <-p.Done:
			t.Fatalf("web process exited:\n%s", p.Out.String())
		default:
		}
		resp, err := client.Get("http://" + addr + path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if first == 0 {
				first = time.Since(start)
			}
			if resp.StatusCode == want {
				return first, time.Since(start)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %s with %d within Heroku's 60 s\n%s", addr, path, want, p.Out.String())
	return 0, 0
}

const fixtureConfig = `# parapet.yaml of the fixture app
trusted_proxies: [loopback]
rules:
  - id: no-secret-area
    paths: [/secret/]
`

// The whole path a Heroku build takes: the binary from a release URL,
// checked against its SHA-256, on PATH in the slug; the web process
// (gunicorn with no --bind) starts behind Parapet on $PORT and Django
// answers through it. The time from the process start to $PORT answering is
// printed.
func TestCompileThenWebProcessServesDjangoThroughParapet(t *testing.T) {
	testenv.RequireDjango(t)
	srv, sum, _ := release(t)
	build := app(t, fixtureConfig)
	out, code := compile(t, bpDir(t), build, envDir(t, map[string]string{
		"PARAPET_BINARY_URL":    srv.URL + "/v9.9.9/parapet-linux-" + runtime.GOARCH,
		"PARAPET_BINARY_SHA256": strings.ToUpper(sum),
	}), false)
	t.Logf("bin/compile:\n%s", out)
	if code != 0 {
		t.Fatalf("compile failed (%d)", code)
	}
	for _, want := range []string{"sha256 " + sum + " verified", "installed parapet ", "parapet.yaml: OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("compile output lacks %q", want)
		}
	}
	if st, err := os.Stat(filepath.Join(build, ".parapet", "bin", "parapet")); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("no executable parapet in the slug: %v", err)
	}
	rel, err := exec.Command(filepath.Join(bpDir(t), "bin", "release"), build).Output()
	if err != nil || !strings.HasPrefix(string(rel), "---") {
		t.Fatalf("bin/release: %v %q", err, rel)
	}
	if det, err := exec.Command(filepath.Join(bpDir(t), "bin", "detect"), build).Output(); err != nil || strings.TrimSpace(string(det)) != "Parapet" {
		t.Fatalf("bin/detect: %v %q", err, det)
	}

	p, addr, start := startWeb(t, build)
	first, ready := waitAnswers(t, p, addr, "/whoami/", 200, start)
	t.Logf("web process: $PORT answered %v after the process started (503 until the app is up), Django through Parapet after %v", first.Round(time.Millisecond), ready.Round(time.Millisecond))
	fmt.Printf("buildpack: time from web process start to $PORT answering: %v; to Django answering through Parapet: %v\n", first.Round(time.Millisecond), ready.Round(time.Millisecond))

	resp, err := http.Get("http://" + addr + "/whoami/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("Django's answer did not come through Parapet: %v", resp.Header)
	}
	// parapet.yaml was found through .profile.d's PARAPET_CONFIG.
	resp, err = http.Get("http://" + addr + "/secret/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("/secret/: %d, want 403 from the fixture's parapet.yaml rule", resp.StatusCode)
	}
	if l := p.Out.Lines("gunicorn has no --bind"); len(l) == 0 {
		t.Errorf("no log line says where gunicorn was bound")
	}
}

// A download that is corrupt, missing, or has no checksum to check fails
// the build with a message that says which, and leaves no binary behind.
func TestCompileRefusesBadDownloads(t *testing.T) {
	srv, sum, _ := release(t)
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"corrupt", map[string]string{"PARAPET_BINARY_URL": srv.URL + "/corrupt", "PARAPET_BINARY_SHA256": sum},
			"checksum mismatch for " + srv.URL + "/corrupt: expected sha256 " + sum},
		{"missing", map[string]string{"PARAPET_BINARY_URL": srv.URL + "/missing", "PARAPET_BINARY_SHA256": sum},
			"could not download Parapet from " + srv.URL + "/missing: curl: (22)"},
		{"no checksum", map[string]string{"PARAPET_BINARY_URL": srv.URL + "/parapet-linux-" + runtime.GOARCH},
			"PARAPET_BINARY_URL is set but PARAPET_BINARY_SHA256 is not"},
		{"bad checksum", map[string]string{"PARAPET_BINARY_URL": srv.URL + "/parapet-linux-" + runtime.GOARCH, "PARAPET_BINARY_SHA256": "abc"},
			"is not 64 hex digits"},
		{"nothing to install", nil, "no binary to install"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := app(t, "")
			// A copy of the buildpack outside the checkout, so there is no
			// source to fall back to.
			bp := t.TempDir()
			if err := os.CopyFS(bp, os.DirFS(bpDir(t))); err != nil {
				t.Fatal(err)
			}
			out, code := compile(t, bp, build, envDir(t, tc.vars), false)
			if code == 0 {
				t.Fatalf("compile succeeded:\n%s", out)
			}
			if !strings.Contains(out, tc.want) || !strings.Contains(out, "Parapet was not installed; the build stops.") {
				t.Fatalf("compile output lacks %q:\n%s", tc.want, out)
			}
			if _, err := os.Stat(filepath.Join(build, ".parapet", "bin", "parapet")); err == nil {
				t.Fatal("a binary was left in the slug")
			}
		})
	}
}

// The tarball make dist packs is pinned to its release: with no config
// vars it downloads that release's binary and checks it against the sums
// packed with it.
func TestPackedBuildpackUsesItsPinnedRelease(t *testing.T) {
	srv, sum, bin := release(t)
	dist := t.TempDir()
	name := "parapet-linux-" + runtime.GOARCH
	if err := os.WriteFile(filepath.Join(dist, name), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dist, "SHA256SUMS"), sum+"  "+name+"\n")
	pack := exec.Command("bash", filepath.Join(bpDir(t), "pack.sh"), dist, "v9.9.9", "1700000000")
	pack.Env = append(os.Environ(), "PARAPET_RELEASE_BASE="+srv.URL)
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("pack.sh: %v\n%s", err, out)
	}
	bp := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", filepath.Join(dist, "parapet-buildpack.tgz"), "-C", bp).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	out, code := compile(t, bp, app(t, ""), envDir(t, nil), false)
	if code != 0 || !strings.Contains(out, "downloading "+srv.URL+"/v9.9.9/"+name) || !strings.Contains(out, "sha256 "+sum+" verified") {
		t.Fatalf("compile (%d):\n%s", code, out)
	}
	// Asking for another version than the one packed is refused.
	out, code = compile(t, bp, app(t, ""), envDir(t, map[string]string{"PARAPET_VERSION": "v1.0.0"}), false)
	if code == 0 || !strings.Contains(out, "PARAPET_VERSION is v1.0.0 but this buildpack is Parapet v9.9.9's") {
		t.Fatalf("compile with another PARAPET_VERSION (%d):\n%s", code, out)
	}
}

// With Go on PATH and the buildpack inside Parapet's checkout, it builds
// the binary from source.
func TestCompileBuildsFromSourceWithGo(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go on PATH")
	}
	build := app(t, "")
	out, code := compile(t, bpDir(t), build, envDir(t, nil), true)
	if code != 0 || !strings.Contains(out, "building from source in "+filepath.Dir(bpDir(t))) || !strings.Contains(out, "installed parapet ") {
		t.Fatalf("compile (%d):\n%s", code, out)
	}
}

// A parapet.yaml that Parapet would refuse fails the build, with the
// reasons, instead of a dyno that crashes at start.
func TestCompileRefusesABadParapetYAML(t *testing.T) {
	srv, sum, _ := release(t)
	build := app(t, "trusted_proxies: [loopback]\nupstreem: http://x\n")
	out, code := compile(t, bpDir(t), build, envDir(t, map[string]string{
		"PARAPET_BINARY_URL": srv.URL + "/parapet-linux-" + runtime.GOARCH, "PARAPET_BINARY_SHA256": sum,
	}), false)
	if code == 0 || !strings.Contains(out, `parapet.yaml:2: unknown key "upstreem"`) || !strings.Contains(out, "parapet.yaml is refused") {
		t.Fatalf("compile (%d):\n%s", code, out)
	}
}
