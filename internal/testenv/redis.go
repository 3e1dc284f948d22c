package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// RedisServer is Debian's redis-server.
const RedisServer = "/usr/bin/redis-server"

// Redis is a real redis-server run by a test on a loopback port with its
// own temporary directory.
type Redis struct {
	// Addr is host:port.
	Addr string
	t    testing.TB
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	out  *Buffer
}

// StartRedis starts redis-server on a free loopback port (failing in CI,
// skipping elsewhere, when it is not installed). It is stopped when the
// test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	if _, err := os.Stat(RedisServer); err != nil {
		Require(t, fmt.Errorf("%s missing (apt-get install redis-server)", RedisServer))
	}
	r := &Redis{t: t, dir: t.TempDir(), Addr: FreeAddr(t)}
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// URL is the redis:// URL of the server.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }

// Start (re)starts the server on the same port.
func (r *Redis) Start() {
	r.t.Helper()
	_, port, _ := net.SplitHostPort(r.Addr)
	r.cmd = exec.Command(RedisServer, "--port", port, "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "yes")
	r.out = &Buffer{}
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.done = make(chan struct{})
	done := r.done
	cmd := r.cmd
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", r.Addr); err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			r.t.Fatalf("redis-server exited: %s", r.out.String())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server did not listen within 10s: %s", r.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (r *Redis) Kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// Dir is the server's working directory.
func (r *Redis) Dir() string { return filepath.Clean(r.dir) }
