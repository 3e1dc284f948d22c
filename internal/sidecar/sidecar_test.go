package sidecar

import (
	"reflect"
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	const dir = "/tmp/p"
	const sock = dir + "/" + SocketName
	port := func() (int, error) { return 40123, nil }
	for _, tc := range []struct {
		name     string
		argv     []string
		env      []string
		wantArgv []string
		wantEnv  string // KEY=VALUE that must be in the child's env
		wantUp   string
	}{
		{"gunicorn unix bind kept", []string{"gunicorn", "app.wsgi", "--bind", "unix:/tmp/g.sock"}, nil,
			[]string{"gunicorn", "app.wsgi", "--bind", "unix:/tmp/g.sock"}, "", "unix:/tmp/g.sock"},
		{"gunicorn -b=unix kept", []string{"/usr/bin/gunicorn", "-bunix:/tmp/g.sock", "app.wsgi"}, nil,
			[]string{"/usr/bin/gunicorn", "-bunix:/tmp/g.sock", "app.wsgi"}, "", "unix:/tmp/g.sock"},
		{"gunicorn without bind gets GUNICORN_CMD_ARGS", []string{"gunicorn", "app.wsgi", "--workers", "3"}, []string{"PORT=5000"},
			[]string{"gunicorn", "app.wsgi", "--workers", "3"}, "GUNICORN_CMD_ARGS=--bind unix:" + sock, "unix:" + sock},
		{"gunicorn without bind keeps other GUNICORN_CMD_ARGS", []string{"gunicorn", "app.wsgi"}, []string{"GUNICORN_CMD_ARGS=--workers 2 --bind 0.0.0.0:5000"},
			[]string{"gunicorn", "app.wsgi"}, "GUNICORN_CMD_ARGS=--workers 2 --bind unix:" + sock, "unix:" + sock},
		{"gunicorn socket in GUNICORN_CMD_ARGS kept", []string{"gunicorn", "app.wsgi"}, []string{"GUNICORN_CMD_ARGS=--bind=unix:/run/x.sock"},
			[]string{"gunicorn", "app.wsgi"}, "GUNICORN_CMD_ARGS=--bind=unix:/run/x.sock", "unix:/run/x.sock"},
		{"gunicorn TCP bind on $PORT rewritten", []string{"gunicorn", "app.wsgi", "--bind", "0.0.0.0:5000", "--log-file", "-"}, nil,
			[]string{"gunicorn", "--bind", "unix:" + sock, "app.wsgi", "--log-file", "-"}, "", "unix:" + sock},
		{"gunicorn two TCP binds rewritten to one socket", []string{"python", "-m", "gunicorn", "-b", ":5000", "--bind=[::]:5000", "app.wsgi"}, nil,
			[]string{"python", "-m", "gunicorn", "--bind", "unix:" + sock, "app.wsgi"}, "", "unix:" + sock},
		{"gunicorn behind a wrapper", []string{"newrelic-admin", "run-program", "gunicorn", "-b0.0.0.0:5000", "app.wsgi"}, nil,
			[]string{"newrelic-admin", "run-program", "gunicorn", "--bind", "unix:" + sock, "app.wsgi"}, "", "unix:" + sock},
		{"uvicorn host and port rewritten", []string{"uvicorn", "app.asgi:application", "--host", "0.0.0.0", "--port=5000"}, nil,
			[]string{"uvicorn", "--uds", sock, "app.asgi:application"}, "", "unix:" + sock},
		{"uvicorn --uds kept", []string{"uvicorn", "--uds", "/tmp/u.sock", "app.asgi:application"}, nil,
			[]string{"uvicorn", "--uds", "/tmp/u.sock", "app.asgi:application"}, "", "unix:/tmp/u.sock"},
		{"daphne -b -p rewritten", []string{"daphne", "-b", "0.0.0.0", "-p", "5000", "app.asgi:application"}, nil,
			[]string{"daphne", "--unix-socket", sock, "app.asgi:application"}, "", "unix:" + sock},
		{"daphne -u kept", []string{"daphne", "-u", "/tmp/d.sock", "app.asgi:application"}, nil,
			[]string{"daphne", "-u", "/tmp/d.sock", "app.asgi:application"}, "", "unix:/tmp/d.sock"},
		{"waitress --port rewritten before the app", []string{"waitress-serve", "--port=5000", "--threads=4", "app.wsgi:application"}, nil,
			[]string{"waitress-serve", "--unix-socket=" + sock, "--threads=4", "app.wsgi:application"}, "", "unix:" + sock},
		{"python -m waitress", []string{"python3", "-m", "waitress", "--listen=*:5000", "app.wsgi:application"}, nil,
			[]string{"python3", "-m", "waitress", "--unix-socket=" + sock, "app.wsgi:application"}, "", "unix:" + sock},
		{"unknown command gets PORT", []string{"sh", "-c", "exec gunicorn app.wsgi"}, []string{"PORT=5000"},
			[]string{"sh", "-c", "exec gunicorn app.wsgi"}, "PORT=40123", "http://127.0.0.1:40123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			argv := append([]string(nil), tc.argv...)
			p, err := Prepare(argv, tc.env, dir, port)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(argv, tc.argv) {
				t.Errorf("Prepare changed its argument: %q", argv)
			}
			if !reflect.DeepEqual(p.Argv, tc.wantArgv) {
				t.Errorf("argv %q, want %q", p.Argv, tc.wantArgv)
			}
			if p.Upstream != tc.wantUp {
				t.Errorf("upstream %q, want %q", p.Upstream, tc.wantUp)
			}
			if tc.wantEnv != "" {
				k, _, _ := strings.Cut(tc.wantEnv, "=")
				var got []string
				for _, kv := range p.Env {
					if strings.HasPrefix(kv, k+"=") {
						got = append(got, kv)
					}
				}
				if len(got) != 1 || got[0] != tc.wantEnv {
					t.Errorf("env %s: %q, want %q", k, got, tc.wantEnv)
				}
			}
		})
	}
}

func TestPrepareEmptyCommand(t *testing.T) {
	if _, err := Prepare(nil, nil, "/tmp", FreeLoopbackPort); err == nil {
		t.Fatal("an empty command should be refused")
	}
}
