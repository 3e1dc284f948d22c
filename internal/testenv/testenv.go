// Package testenv gives tests the real parts Parapet runs in front of: the
// Django test app (testdata/djangoapp) under Debian's gunicorn. Tests that
// need them skip locally when they are missing and fail in CI (CI set).
package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Python is Debian's interpreter, the one python3-django is installed for
// (the python3 first on PATH may be another without Django).
const Python = "/usr/bin/python3"

// Gunicorn is Debian's gunicorn.
const Gunicorn = "/usr/bin/gunicorn"

var (
	djangoOnce sync.Once
	djangoErr  error
)

// DjangoAvailable reports why the Django test app cannot run here, or nil.
func DjangoAvailable() error {
	djangoOnce.Do(func() {
		if out, err := exec.Command(Python, "-c", "import django").CombinedOutput(); err != nil {
			djangoErr = fmt.Errorf("%s cannot import django (apt-get install python3-django): %v %s", Python, err, out)
			return
		}
		if _, err := os.Stat(Gunicorn); err != nil {
			djangoErr = fmt.Errorf("%s missing (apt-get install gunicorn)", Gunicorn)
		}
	})
	return djangoErr
}

// Require fails the test in CI and skips it elsewhere when err is not nil.
func Require(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI needs this: %v", err)
	}
	t.Skipf("skipping: %v", err)
}

// RequireDjango fails (in CI) or skips the test when Django or gunicorn is missing.
func RequireDjango(t testing.TB) {
	t.Helper()
	Require(t, DjangoAvailable())
}

// RepoRoot is the directory holding go.mod, found from the working directory.
func RepoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// RunWithParapet is a TestMain body for packages that run the real
// binary: it builds cmd/parapet as shipped (static, CGO_ENABLED=0, -trimpath:
// the build cache then serves the buildpack's build from source too) into a
// temporary directory, sets *bin to its path, runs the tests, removes the
// directory and returns the exit code for os.Exit.
func RunWithParapet(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "parapet-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*bin = filepath.Join(dir, "parapet")
	build := exec.Command("go", "build", "-trimpath", "-o", *bin, "./cmd/parapet")
	build.Dir = RepoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building parapet: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// DjangoAppDir is the absolute path of testdata/djangoapp.
func DjangoAppDir() string {
	return filepath.Join(RepoRoot(), "testdata", "djangoapp")
}

// GunicornCommand returns the command line that serves the Django test app
// on a unix socket with one worker process (the app's request counter is
// per process), and the environment variables it needs besides the
// inherited ones. settings is a module such as "testapp.settings" ("" for it).
func GunicornCommand(socketPath, settings string) (argv, env []string) {
	if settings == "" {
		settings = "testapp.settings"
	}
	argv = []string{Gunicorn, "--chdir", DjangoAppDir(), "--workers", "1", "--threads", "8",
		"--bind", "unix:" + socketPath, "--timeout", "60", "--graceful-timeout", "30",
		"--log-level", "warning", "testapp.wsgi:application"}
	env = []string{"DJANGO_SETTINGS_MODULE=" + settings, "PYTHONDONTWRITEBYTECODE=1"}
	return argv, env
}

// SocketDir returns a short temporary directory for unix sockets (their
// paths are limited to 107 bytes, which t.TempDir() can exceed), removed
// when the test ends.
func SocketDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// StartGunicorn serves the Django app directly (not through Parapet) on a
// unix socket and returns the socket's path. It is stopped when the test ends.
func StartGunicorn(t testing.TB, settings string) string {
	t.Helper()
	RequireDjango(t)
	sock := filepath.Join(SocketDir(t), "g.sock")
	argv, env := GunicornCommand(sock, settings)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stderr Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock
		}
		select {
		case <-done:
			t.Fatalf("gunicorn exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gunicorn did not listen within 20s: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// UnixClient is an HTTP client that talks to the unix socket whatever the URL's host.
func UnixClient(socketPath string) *http.Client {
	return &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// DjangoRequests asks the app how many requests it has seen (and their
// paths), not counting this one.
func DjangoRequests(t testing.TB, client *http.Client, baseURL string) (int, []string) {
	t.Helper()
	resp, err := client.Get(baseURL + "/__requests__/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var seen struct {
		Count int      `json:"count"`
		Paths []string `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil {
		t.Fatalf("/__requests__/: %d %v", resp.StatusCode, err)
	}
	return seen.Count, seen.Paths
}

// FreeAddr returns a loopback address whose port was free a moment ago,
// for commands that must be told their port in advance.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Buffer collects a process's or logger's output; safe for concurrent
// writes and reads.
type Buffer struct {
	mu  sync.Mutex
	buf []byte
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Lines returns the lines written so far that contain all the words.
func (b *Buffer) Lines(words ...string) []string {
	var out []string
next:
	for _, line := range strings.Split(b.String(), "\n") {
		if line == "" {
			continue
		}
		for _, w := range words {
			if !strings.Contains(line, w) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// Exists reports why path cannot be run here (for Require), or nil.
func Exists(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s missing (see .ci/run's packages): %v", path, err)
	}
	return nil
}
