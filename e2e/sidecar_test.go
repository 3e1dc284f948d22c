package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// In sidecar mode Parapet owns $PORT and hands the app a private address,
// whatever way the Procfile starts it: gunicorn with no --bind (it would
// bind $PORT itself), with a TCP --bind on $PORT, with a unix socket, and
// the ASGI/WSGI servers Debian packages. Each app answers through Parapet.
func TestSidecarGivesTheAppAPrivateAddress(t *testing.T) {
	testenv.RequireDjango(t)
	app := testenv.DjangoAppDir()
	for _, tc := range []struct {
		name  string
		needs string // a program that must exist
		argv  func(port string) []string
		env   []string
		note  string // words of the sidecar log line
	}{
		{"gunicorn without --bind", testenv.Gunicorn, func(string) []string {
			return []string{testenv.Gunicorn, "--chdir", app, "--workers", "1", "testapp.wsgi"}
		}, nil, "gunicorn has no --bind"},
		{"gunicorn with GUNICORN_CMD_ARGS binding $PORT", testenv.Gunicorn, func(string) []string {
			return []string{testenv.Gunicorn, "--chdir", app, "testapp.wsgi"}
		}, []string{"GUNICORN_CMD_ARGS=--workers 1 --bind 0.0.0.0:$PORT"}, "GUNICORN_CMD_ARGS --bind"},
		{"gunicorn with a TCP --bind on $PORT", testenv.Gunicorn, func(port string) []string {
			return []string{testenv.Gunicorn, "--chdir", app, "--workers", "1", "--bind", "0.0.0.0:" + port, "testapp.wsgi"}
		}, nil, "listen flags --bind 0.0.0.0:"},
		{"gunicorn with a unix socket", testenv.Gunicorn, func(string) []string {
			return []string{testenv.Gunicorn, "--chdir", app, "--workers", "1", "--bind", "unix:" + testenv.SocketDir(t) + "/g.sock", "testapp.wsgi"}
		}, nil, ""},
		{"uvicorn (ASGI) with --host and --port", "/usr/lib/python3/dist-packages/uvicorn", func(port string) []string {
			// Debian's python3-uvicorn has no uvicorn script.
			return []string{testenv.Python, "-m", "uvicorn", "--app-dir", app, "--host", "0.0.0.0", "--port", port, "testapp.asgi:application"}
		}, nil, "uvicorn: listen flags --host 0.0.0.0 --port"},
		{"daphne (ASGI) with -b and -p", "/usr/bin/daphne", func(port string) []string {
			return []string{"/usr/bin/daphne", "-b", "0.0.0.0", "-p", port, "testapp.asgi:application"}
		}, []string{"PYTHONPATH=" + app}, "daphne: listen flags"},
		{"waitress-serve with --port", "/usr/bin/waitress-serve", func(port string) []string {
			return []string{"/usr/bin/waitress-serve", "--port=" + port, "testapp.wsgi:application"}
		}, []string{"PYTHONPATH=" + app}, "waitress-serve: listen flags --port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testenv.Require(t, testenv.Exists(tc.needs))
			addr := testenv.FreeAddr(t)
			port := addr[strings.LastIndexByte(addr, ':')+1:]
			env := []string{"PORT=" + port, "DYNO=web.1", "DJANGO_SETTINGS_MODULE=testapp.settings", "PYTHONDONTWRITEBYTECODE=1"}
			for _, e := range tc.env {
				env = append(env, strings.ReplaceAll(e, "$PORT", port))
			}
			p := startParapet(t, addr, env, append([]string{"--"}, tc.argv(port)...)...)
			waitStatus(t, p, "/whoami/", 200)
			resp, err := http.Get("http://" + addr + "/whoami/")
			if err != nil {
				t.Fatal(err)
			}
			var who struct {
				RequestID string `json:"x_request_id"`
			}
			err = json.NewDecoder(resp.Body).Decode(&who)
			resp.Body.Close()
			if err != nil || who.RequestID == "" || who.RequestID != resp.Header.Get("X-Request-Id") {
				t.Fatalf("Django did not get Parapet's request id: %v %+v (response's %q)", err, who, resp.Header.Get("X-Request-Id"))
			}
			waitStatus(t, p, "/.env", 403) // Parapet's rules are in front
			if tc.note != "" {
				p.waitLog(t, "sidecar: ", tc.note)
			}
		})
	}
}
