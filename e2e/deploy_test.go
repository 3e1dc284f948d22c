package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

func deployFile(name string) string { return filepath.Join(testenv.RepoRoot(), "deploy", name) }

// The example configs in deploy/ pass parapet check, and the systemd
// unit's commands are ones the binary takes.
func TestDeployExamplesAreValid(t *testing.T) {
	for _, tc := range []struct {
		file string
		env  []string
	}{
		{"systemd/parapet.yaml", nil},
		{"redis/parapet.yaml", []string{"REDIS_URL=rediss://:secret@127.0.0.1:1/0", "PARAPET_UPSTREAM=unix:/tmp/app.sock"}},
	} {
		out, code := run(t, tc.env, "check", "--config", deployFile(tc.file))
		if code != 0 {
			t.Errorf("%s: check exit %d:\n%s", tc.file, code, out)
		}
	}
	f, err := os.Open(deployFile("systemd/parapet.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		for _, key := range []string{"ExecStartPre=", "ExecStart="} {
			if c, ok := strings.CutPrefix(line, key); ok {
				cmds = append(cmds, c)
			}
		}
	}
	if len(cmds) != 2 {
		t.Fatalf("unit commands: %q", cmds)
	}
	for _, c := range cmds {
		args := strings.Fields(c)
		if args[0] != "/usr/local/bin/parapet" || args[len(args)-1] != "/etc/parapet/parapet.yaml" {
			t.Fatalf("unit command %q", c)
		}
		// The same subcommand and flags, on the example config.
		args = append(args[1:len(args)-1], deployFile("systemd/parapet.yaml"))
		if args[0] == "run" {
			args = append(args, "--help") // its flags parsed, nothing started
		}
		if out, code := run(t, nil, args...); code != 0 {
			t.Errorf("%q: exit %d\n%s", args, code, out)
		}
	}
}

// deploy/redis/parapet.yaml as Heroku Key-Value Store is used: a rediss://
// REDIS_URL (TLS only, self-signed certificate) read as it is, with
// store.tls_skip_verify. Two instances enforce one limit and share bans;
// without tls_skip_verify the certificate is refused, and said so.
func TestSeveralInstancesShareRedisOverTLS(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	redis := testenv.StartRedisTLS(t)
	cfg := deployFile("redis/parapet.yaml")
	env := []string{"REDIS_URL=" + redis.URL(), "PARAPET_SECRET=" + strings.Repeat("ab", 32)}
	start := func() *process {
		addr := testenv.FreeAddr(t)
		p := startParapet(t, addr, append([]string{"PARAPET_LISTEN=" + addr, "PARAPET_UPSTREAM=unix:" + sock}, env...), "run", "--config", cfg)
		waitStatus(t, p, "/", 200)
		return p
	}
	a, b := start(), start()
	django := testenv.UnixClient(sock)
	before, _ := testenv.DjangoRequests(t, django, "http://django")
	var codes []int
	for i := 0; i < 10; i++ {
		p := a
		if i%2 == 1 {
			p = b
		}
		codes = append(codes, send(t, "POST", "http://"+p.addr, "/login/", "203.0.113.60").StatusCode)
	}
	if after, _ := testenv.DjangoRequests(t, django, "http://django"); after-before != 5 {
		t.Fatalf("Django saw %d login attempts through two instances, want 5 (%v)", after-before, codes)
	}
	if out, code := run(t, env, "ban", "add", "203.0.113.61", "--config", cfg, "--reason", "shared over TLS"); code != 0 {
		t.Fatalf("ban add: %d %s", code, out)
	}
	for _, p := range []*process{a, b} {
		if s := send(t, "GET", "http://"+p.addr, "/", "203.0.113.61").StatusCode; s != 403 {
			t.Fatalf("banned client through %s: %d", p.addr, s)
		}
	}
	out, code := run(t, append(env, "PARAPET_STORE_TLS_SKIP_VERIFY=false"), "ban", "list", "--config", cfg)
	if code == 0 || !strings.Contains(out, "certificate") {
		t.Fatalf("without tls_skip_verify the self-signed certificate should be refused: %d\n%s", code, out)
	}
}
