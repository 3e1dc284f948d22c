package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// django runs Parapet in sidecar mode with the Django test app under
// gunicorn as its child, the way a Heroku Procfile does.
type django struct {
	*process
	base string
}

func startDjango(t *testing.T, extraEnv ...string) *django {
	t.Helper()
	return startDjangoWithConfig(t, "", extraEnv...)
}

// startDjangoWithConfig is startDjango with a config file (YAML body; ""
// for none) on top of the environment.
func startDjangoWithConfig(t *testing.T, yaml string, extraEnv ...string) *django {
	t.Helper()
	testenv.RequireDjango(t)
	sock := filepath.Join(testenv.SocketDir(t), "g.sock")
	argv, env := testenv.GunicornCommand(sock, "")
	addr := testenv.FreeAddr(t)
	env = append(env,
		"PARAPET_LISTEN="+addr,
		"PARAPET_TRUSTED_PROXIES=loopback",
		"PARAPET_LIMITS_MAX_BODY_BYTES=50MB",
	)
	if !strings.Contains(yaml, "feed_cache_dir:") {
		// Bans and feed copies of this server only (the default,
		// $TMPDIR/parapet-feeds, is shared by every test's server: a ban
		// made by one test refused another's client). A test that names
		// its own directory (to restart on it) keeps it: the environment
		// would override the file.
		env = append(env, "PARAPET_FEED_CACHE_DIR="+t.TempDir())
	}
	env = append(env, extraEnv...)
	var args []string
	if yaml != "" {
		cfg := filepath.Join(t.TempDir(), "parapet.yaml")
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		args = []string{"--config", cfg}
	}
	p := startParapet(t, addr, env, append(append(args, "--"), argv...)...)
	d := &django{process: p, base: "http://" + addr}
	waitStatus(t, p, "/", 200)
	return d
}

func (d *django) requests(t *testing.T) (int, []string) {
	return testenv.DjangoRequests(t, http.DefaultClient, d.base)
}

func TestDjangoLoginWithCSRFThroughParapet(t *testing.T) {
	d := startDjango(t)
	client, token := csrfClient(t, d.base)
	form := url.Values{"csrfmiddlewaretoken": {token}, "username": {"alice"}, "password": {"correct horse"}}
	resp, err := client.PostForm(d.base+"/login/", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || !strings.HasSuffix(resp.Header.Get("Location"), "/account/") {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = client.Get(d.base + "/account/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "hello alice") {
		t.Fatalf("account page: %d %s", resp.StatusCode, body)
	}
	// Without the token Django refuses, through Parapet as directly.
	resp, err = client.PostForm(d.base+"/login/", url.Values{"username": {"alice"}, "password": {"correct horse"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("POST without CSRF token: %d", resp.StatusCode)
	}
	// The log never shows the password or the cookies.
	out := d.out.String()
	if strings.Contains(out, "correct horse") || strings.Contains(out, token) {
		t.Fatal("secret in Parapet's output")
	}
}

func TestDjangoUploadArrivesByteIdentical(t *testing.T) {
	d := startDjango(t)
	data := make([]byte, 20<<20)
	rand.Read(data)
	sum := sha256.Sum256(data)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "big.bin")
	fw.Write(data)
	mw.Close()
	resp, err := http.Post(d.base+"/upload/", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Size   int    `json:"size"`
		SHA256 string `json:"sha256"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %d %v", resp.StatusCode, err)
	}
	if got.Size != len(data) || got.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("Django got %d bytes sha256 %s, sent %d bytes %x", got.Size, got.SHA256, len(data), sum)
	}
}

func TestDjangoSeesClientIPParapetComputed(t *testing.T) {
	d := startDjango(t)
	req, _ := http.NewRequest("GET", d.base+"/whoami/", nil)
	// Loopback is the trusted proxy here; the client wrote a spoofed hop first.
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Request-Id", "req-from-router-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var who map[string]any
	json.NewDecoder(resp.Body).Decode(&who)
	if who["x_forwarded_for"] != "198.51.100.7" || who["x_forwarded_proto"] != "https" || who["is_secure"] != true || who["x_request_id"] != "req-from-router-1" {
		t.Fatalf("Django saw %v", who)
	}
	d.waitLog(t, `"client_ip":"198.51.100.7"`, `"path":"/whoami/"`)
}

func TestDjangoNeverSeesBlockedRequests(t *testing.T) {
	d := startDjango(t, "PARAPET_EDGE_ALLOWED_HOSTS=127.0.0.1,localhost")
	before, _ := d.requests(t)
	for _, p := range []string{"/.env", "/.git/config", "/wp-login.php", "/backup.sql"} {
		resp, err := http.Get(d.base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", d.base+"/", nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("unknown host: %d", resp.StatusCode)
	}
	after, paths := d.requests(t)
	if after != before {
		t.Fatalf("Django saw %d blocked requests: %v", after-before, paths)
	}
}

// SIGTERM: Parapet stops accepting, lets the slow request in flight finish,
// then stops gunicorn and exits with its status.
func TestSIGTERMDrainsInFlightRequest(t *testing.T) {
	d := startDjango(t)
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(d.base + "/slow/?seconds=2")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode, body: string(b)}
	}()
	time.Sleep(700 * time.Millisecond) // the request is now inside Django
	start := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	r := <-done
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, "slept") {
		t.Fatalf("in-flight request cut off: %+v", r)
	}
	code := d.wait(t, 30*time.Second)
	if code != 0 {
		t.Fatalf("exit code %d, want gunicorn's 0:\n%s", code, d.out.String())
	}
	if time.Since(start) < time.Second {
		t.Fatalf("exited before the slow request could finish")
	}
	if _, err := http.Get(d.base + "/"); err == nil {
		t.Fatal("still accepting after exit")
	}
}

// Parapet binds before the app is ready and answers 503 with Retry-After
// until the app socket accepts (Heroku's boot timeout is 60 s; gunicorn
// may be slower). The app here starts only when the test says so, after
// Parapet has answered: how long Parapet takes to start (building the
// rules, slower on a loaded machine) cannot decide the test.
func TestSidecarAnswers503UntilAppIsReady(t *testing.T) {
	testenv.RequireDjango(t)
	sock := filepath.Join(testenv.SocketDir(t), "g.sock")
	argv, env := testenv.GunicornCommand(sock, "")
	addr := testenv.FreeAddr(t)
	env = append(env, "PARAPET_LISTEN="+addr, "PARAPET_UPSTREAM=unix:"+sock)
	ready := filepath.Join(t.TempDir(), "go")
	script := "while [ ! -e " + ready + " ]; do sleep 0.05; done; exec " + strings.Join(argv, " ")
	p := startParapet(t, addr, env, "--", "sh", "-c", script)
	var first *http.Response
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			first = resp
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if first == nil || first.StatusCode != 503 || first.Header.Get("Retry-After") == "" {
		t.Fatalf("while booting: %+v", first)
	}
	if err := os.WriteFile(ready, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, p, "/", 200)
}
