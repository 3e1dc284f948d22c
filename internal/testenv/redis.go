package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
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
	tls  bool
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

// StartRedisTLS is StartRedis serving TLS only, with a self-signed
// certificate for 127.0.0.1 (as Heroku Redis's rediss:// has).
func StartRedisTLS(t testing.TB) *Redis {
	t.Helper()
	if _, err := os.Stat(RedisServer); err != nil {
		Require(t, fmt.Errorf("%s missing (apt-get install redis-server)", RedisServer))
	}
	r := &Redis{t: t, dir: t.TempDir(), Addr: FreeAddr(t), tls: true}
	writeSelfSigned(t, r.dir)
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// URL is the redis:// (or, with TLS, rediss://) URL of the server.
func (r *Redis) URL() string {
	if r.tls {
		return "rediss://" + r.Addr + "/0"
	}
	return "redis://" + r.Addr + "/0"
}

// Start (re)starts the server on the same port.
func (r *Redis) Start() {
	r.t.Helper()
	_, port, _ := net.SplitHostPort(r.Addr)
	args := []string{"--port", port, "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "yes"}
	if r.tls {
		args[1] = "0"
		cert, key := filepath.Join(r.dir, "cert.pem"), filepath.Join(r.dir, "key.pem")
		args = append(args, "--tls-port", port, "--tls-cert-file", cert, "--tls-key-file", key,
			"--tls-ca-cert-file", cert, "--tls-auth-clients", "no")
	}
	r.cmd = exec.Command(RedisServer, args...)
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

func writeSelfSigned(t testing.TB, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "parapet test redis"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}
