package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

func run(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(parapetBin, args...)
	cmd.Env = append(testenv.CleanEnv(), env...)
	out, _ := cmd.CombinedOutput()
	return string(out), cmd.ProcessState.ExitCode()
}

func TestCheckPrintsEffectiveConfigMasked(t *testing.T) {
	out, code := run(t, []string{"PARAPET_UPSTREAM=https://deploy:hunter2@app.example.com", "PORT=5000"}, "check")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "deploy:xxxxx@app.example.com") || !strings.Contains(out, "listen: :5000") {
		t.Fatalf("check output:\n%s", out)
	}
}

func TestCheckRefusesBadConfigWithFileLineReason(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte("upstream: http://127.0.0.1:1\nedge:\n  allowed_methods: [GET, get]\nupstreem: x\n"), 0o600)
	out, code := run(t, nil, "check", "--config", p)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{p + ":3: edge.allowed_methods[1]", p + `:4: unknown key "upstreem"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// run refuses the same file the same way and never starts listening.
	out, code = run(t, nil, "run", "--config", p)
	if code != 1 || !strings.Contains(out, "config refused") {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, code := run(t, nil, "--help")
	if code != 0 || !strings.Contains(out, "parapet demo") || !strings.Contains(out, "PARAPET_UPSTREAM") {
		t.Fatalf("help: %d\n%s", code, out)
	}
	if out, code = run(t, nil); code != 2 || !strings.Contains(out, "Usage:") {
		t.Fatalf("bare parapet should print usage and exit 2: %d\n%s", code, out)
	}
	if out, code = run(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "parapet ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if out2, code := run(t, nil, "--version"); code != 0 || out2 != out {
		t.Fatalf("--version: %d %q, want %q", code, out2, out)
	}
}

// Every command's --help (and -h) exits 0 and lists only that command's
// flags: ban list has no --for.
func TestEveryCommandHasItsOwnHelp(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"run", "--help"}, []string{"parapet run", "-config"}, []string{"-listen", "-for"}},
		{[]string{"check", "-h"}, []string{"parapet check", "-config"}, []string{"-for"}},
		{[]string{"demo", "--help"}, []string{"parapet demo", "-listen"}, []string{"-config"}},
		{[]string{"init", "--help"}, []string{"parapet init", "-force"}, []string{"-for "}},
		{[]string{"version", "--help"}, []string{"parapet version"}, []string{"-config"}},
		{[]string{"ban", "--help"}, []string{"parapet ban list"}, nil},
		{[]string{"ban", "list", "--help"}, []string{"parapet ban list", "-config"}, []string{"-for", "-reason", "-action"}},
		{[]string{"ban", "add", "-h"}, []string{"parapet ban add", "-for", "-reason", "-action"}, nil},
		{[]string{"ban", "remove", "--help"}, []string{"parapet ban remove", "-config"}, []string{"-for"}},
		{[]string{"ban", "add", "-h"}, []string{"-server", "PARAPET_SERVER"}, nil},
		{[]string{"rules", "--help"}, []string{"parapet rules add", "parapet rules mode"}, nil},
		{[]string{"rules", "add", "--help"}, []string{"-kind", "-server"}, nil},
		{[]string{"rules", "list", "-h"}, []string{"-server"}, []string{"-kind string"}},
		{[]string{"status", "--help"}, []string{"parapet status", "-server", "-json"}, []string{"-config"}},
		{[]string{"events", "--help"}, []string{"parapet events", "-ip", "-rule", "-limit"}, []string{"-config"}},
		{[]string{"under-attack", "--help"}, []string{"parapet under-attack on", "-for"}, nil},
		{[]string{"reload", "--help"}, []string{"parapet reload", "-server"}, []string{"-config"}},
		{[]string{"help", "check"}, []string{"parapet check", "-config"}, nil},
	} {
		out, code := run(t, nil, tc.args...)
		if code != 0 {
			t.Errorf("%q: exit %d\n%s", tc.args, code, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: output lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out, w) {
				t.Errorf("%q: output has %q, another command's flag:\n%s", tc.args, w, out)
			}
		}
	}
}

func TestDemoBlocksSomething(t *testing.T) {
	addr := testenv.FreeAddr(t)
	p := startParapet(t, addr, nil, "demo", "--listen", addr)
	waitStatus(t, p, "/", 200)
	waitStatus(t, p, "/.env", 403)
	if !strings.Contains(p.out.String(), "curl -i") {
		t.Errorf("demo does not tell what to curl:\n%s", p.out.String())
	}
	p.waitLog(t, `"rule":"path-dotfiles"`, `"status":403`)
	// The SQL injection the demo suggests is stopped by attack detection.
	waitStatus(t, p, "/?id=1%27%20OR%20%271%27=%271", 403)
	p.waitLog(t, `"rule":"detect-sqli"`, `"matched_rules":["942100"`)
}

// A config change on SIGHUP takes effect; a bad one is refused and the old
// rules keep serving.
func TestReloadOnSIGHUPKeepsOldConfigWhenNewIsBad(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	addr := testenv.FreeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "parapet.yaml")
	write := func(body string) {
		if err := os.WriteFile(cfgPath, []byte("upstream: "+up.URL+"\nlisten: "+addr+"\nreload:\n  watch: false\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	p := startParapet(t, addr, nil, "run", "--config", cfgPath)
	waitStatus(t, p, "/secret/", 200)

	write("rules:\n  - id: hide-secret\n    paths: [/secret/]\n    status: 404\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitStatus(t, p, "/secret/", 404)

	write("rules:\n  - id: broken\n    path_regex: ['(']\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, "config reload refused", cfgPath+":7")
	resp, err := http.Get("http://" + addr + "/secret/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("after a bad reload the old rule should still apply: %d", resp.StatusCode)
	}
}

// With reload.watch on, saving the file is enough.
func TestReloadOnFileChange(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	addr := testenv.FreeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "parapet.yaml")
	base := "upstream: " + up.URL + "\nlisten: " + addr + "\nreload:\n  watch: true\n  interval: 50ms\n"
	os.WriteFile(cfgPath, []byte(base), 0o600)
	p := startParapet(t, addr, nil, "run", "--config", cfgPath)
	waitStatus(t, p, "/x/", 200)
	time.Sleep(20 * time.Millisecond) // a distinct mtime
	os.WriteFile(cfgPath, []byte(base+"rules:\n  - id: x\n    paths: [/x/]\n"), 0o600)
	waitStatus(t, p, "/x/", 403)
}

// In sidecar mode, a child that dies takes Parapet down with a clear line
// and a non-zero status, so the platform restarts the dyno.
func TestSidecarChildDeathExitsNonZero(t *testing.T) {
	addr := testenv.FreeAddr(t)
	p := startParapet(t, addr, []string{"PARAPET_LISTEN=" + addr, "PARAPET_UPSTREAM=unix:/tmp/parapet-none.sock"},
		"--", "sh", "-c", "sleep 0.5; exit 3")
	// Parapet answers at once, before the child is ready.
	seen := waitStatus(t, p, "/", 503)
	_ = seen
	code := p.wait(t, 10*time.Second)
	if code != 3 {
		t.Fatalf("exit code %d, want the child's 3", code)
	}
	p.waitLog(t, "upstream command exited unexpectedly")
}

func TestUnknownCommandAndMissingUpstream(t *testing.T) {
	if out, code := run(t, nil, "frobnicate"); code != 2 || !strings.Contains(out, `unknown command "frobnicate"`) {
		t.Fatalf("%d %s", code, out)
	}
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("listen: 127.0.0.1:0\n"), 0o600)
	out, code := run(t, nil, "run", "--config", p)
	if code != 1 || !strings.Contains(out, "upstream: is required") {
		t.Fatalf("%d %s", code, out)
	}
}

// Building the detection rules the first time leaves some 170 MB of
// garbage (the CRS dictionaries' automata); Parapet gives it back to the
// OS before serving, so its resident memory once it answers is well below
// the peak it reached while building.
func TestStartUpGivesRuleBuildingMemoryBack(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	addr := testenv.FreeAddr(t)
	p := startParapet(t, addr, []string{"PARAPET_UPSTREAM=" + up.URL, "PARAPET_LISTEN=" + addr})
	waitStatus(t, p, "/", 200)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	kB := func(field string) int {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, field+":"); ok {
				var n int
				fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &n)
				return n
			}
		}
		t.Fatalf("no %s in /proc status", field)
		return 0
	}
	rss, peak := kB("VmRSS"), kB("VmHWM")
	t.Logf("resident %d MB, peak %d MB", rss>>10, peak>>10)
	// Kept, the garbage is about a quarter of the peak (130 MB against
	// 95 MB given back, on the 2-core test machine).
	if rss > peak*85/100 {
		t.Errorf("resident memory %d MB after start-up is %d%% of its %d MB peak: the rule building's garbage was kept", rss>>10, rss*100/peak, peak>>10)
	}
}

// check reports every problem of a config in one pass: a bad environment
// variable, unknown YAML keys (with the key meant), values validation
// refuses, a type mismatch and what only building the chain finds (a bad
// regex, a country code that does not exist). Before, it took three runs:
// the environment, then the file, then the chain.
func TestCheckReportsEveryProblemInOnePass(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte(`upstream: http://127.0.0.1:1
upstreem: x
edge:
  allowed_methods: [GET, get]
  alowed_hosts: [x]
timeouts:
  read: soon
rules:
  - id: geo
    countries_except: [DE, XX]
    methods: [POST]
  - id: badre
    path_regex: ['(']
`), 0o600)
	want := []string{
		"environment PARAPET_DETECTION_MODE: ",
		`environment PARAPET_TIMEOUTS_IDLE: timeouts.idle: "later" is not a duration`,
		p + `:2: unknown key "upstreem" (in the top level; did you mean upstream?)`,
		p + `:4: edge.allowed_methods[1]: "get" is not an upper-case HTTP method`,
		p + `:5: unknown key "alowed_hosts" (in edge; did you mean allowed_hosts?)`,
		p + `:7: timeouts.read: "soon" is not a duration (e.g. 30s, 5m)`,
		p + `:10: rules[0].countries_except[1]: "XX" is not a two-letter ISO country code`,
		p + `:13: rules[1].path_regex[0]: bad regex "("`,
	}
	for _, args := range [][]string{{"check", "--config", p}, {"run", "--config", p}} {
		out, code := run(t, []string{"PARAPET_DETECTION_MODE=blocking", "PARAPET_TIMEOUTS_IDLE=later"}, args...)
		if code != 1 {
			t.Fatalf("%v: exit %d:\n%s", args, code, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", args, w, out)
			}
		}
	}
}
