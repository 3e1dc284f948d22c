package testenv

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process is a program a test runs (the parapet binary), with its output
// captured.
type Process struct {
	Cmd *exec.Cmd
	Out *Buffer
	// Done is closed when the program has exited.
	Done chan struct{}
}

// StartProcess runs bin with args in env. When the test ends the program
// gets SIGTERM (and SIGKILL 10 s later); if the test failed, the last
// 16 KB of its output are logged.
func StartProcess(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out := &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{Cmd: cmd, Out: out, Done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.Done) }()
	t.Cleanup(func() {
		select {
		case <-p.Done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.Done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-p.Done
			}
		}
		if t.Failed() {
			s := out.String()
			if len(s) > 16<<10 {
				s = "...\n" + s[len(s)-16<<10:]
			}
			t.Logf("%s output:\n%s", bin, s)
		}
	})
	return p
}

// CleanEnv is this process's environment without the developer's PARAPET_
// and PORT settings, the base every started parapet adds its own to. Its
// HTTP and HTTPS proxy is DeadProxy, so whatever a started parapet would
// fetch from the internet (the crawler ranges of the default config,
// a public feed) fails on loopback instead (see OfflineEnv).
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PARAPET_") || strings.HasPrefix(kv, "PORT=") || isProxyVar(kv) {
			continue
		}
		env = append(env, kv)
	}
	return append(env, OfflineEnv()...)
}
