// Package e2e runs the parapet binary for real: in sidecar mode in front of
// the Django test app under gunicorn, in edge mode, and its CLI commands.
package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// parapetBin is the binary built once for all tests.
var parapetBin string

func TestMain(m *testing.M) { os.Exit(testenv.RunWithParapet(m, &parapetBin)) }

// process is a running parapet with its output captured.
type process struct {
	cmd  *exec.Cmd
	out  *testenv.Buffer
	done chan struct{}
	addr string
}

// startParapet runs the binary with args and env (added to os.Environ()).
// addr is where it will listen (set through env by the caller).
func startParapet(t *testing.T, addr string, env []string, args ...string) *process {
	t.Helper()
	tp := testenv.StartProcess(t, parapetBin, append(testenv.CleanEnv(), env...), args...)
	return &process{cmd: tp.Cmd, out: tp.Out, done: tp.Done, addr: addr}
}

// waitStatus polls url until it answers with want (or fails after 20 s),
// and returns every status seen on the way.
func waitStatus(t *testing.T, p *process, path string, want int) []int {
	t.Helper()
	var seen []int
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("parapet exited early:\n%s", p.out.String())
		default:
		}
		resp, err := http.Get("http://" + p.addr + path)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			seen = append(seen, resp.StatusCode)
			if resp.StatusCode == want {
				return seen
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered %d (seen %v)", path, want, seen)
	return nil
}

// waitLog waits until a line with all the words has been printed (a
// request's line comes after its response) and returns it.
func (p *process) waitLog(t *testing.T, words ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l := p.out.Lines(words...); len(l) > 0 {
			return l[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no output line with %q", words)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *process) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("parapet did not exit within %v", d)
	}
	return -1
}

// sigterm is what a platform sends to stop a dyno.
var sigterm = syscall.SIGTERM
