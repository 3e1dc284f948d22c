// Package sidecar decides where the app that Parapet starts in sidecar mode
// (`parapet -- gunicorn app.wsgi`) listens: Parapet owns $PORT, so the app
// gets a private address, and Parapet proxies to it. It knows how to tell
// the servers Django apps run on (gunicorn, uvicorn, daphne, waitress) to
// listen on a unix socket of Parapet's choosing, by rewriting their listen
// flags; any other command gets PORT set to a free loopback port.
package sidecar

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// Plan is how the app command is started and where Parapet reaches it.
type Plan struct {
	// Argv is the command to run, its listen flags rewritten if needed.
	Argv []string
	// Env is the command's environment.
	Env []string
	// Upstream is where Parapet sends requests: unix:/path or http://127.0.0.1:port.
	Upstream string
	// Server names the recognised server ("gunicorn", "uvicorn", "daphne",
	// "waitress-serve"), or "" for any other command.
	Server string
	// Notes say what was changed, for the log.
	Notes []string
}

// SocketName is the file name of the app's socket in the private directory.
const SocketName = "app.sock"

// server describes one app server's listen flags.
type server struct {
	// listen are the flags that make it listen on TCP, each taking a value.
	listen []string
	// socket is the flag that makes it listen on a unix socket (its value a
	// path); unixPrefix is how a listen value names a socket instead
	// (gunicorn's --bind unix:PATH).
	socket     string
	unixPrefix string
	// joined writes the socket flag as --flag=value (getopt-style parsers).
	joined bool
}

var servers = map[string]server{
	"gunicorn":       {listen: []string{"--bind", "-b"}, socket: "--bind", unixPrefix: "unix:"},
	"uvicorn":        {listen: []string{"--host", "--port"}, socket: "--uds"},
	"daphne":         {listen: []string{"--bind", "-b", "--port", "-p"}, socket: "--unix-socket"},
	"waitress-serve": {listen: []string{"--listen", "--host", "--port"}, socket: "--unix-socket", joined: true},
}

// socketFlags are the flags of each server that already name a unix socket.
var socketFlags = map[string][]string{
	"uvicorn":        {"--uds"},
	"daphne":         {"--unix-socket", "-u"},
	"waitress-serve": {"--unix-socket"},
}

// Prepare plans how to run argv (with environment env) behind Parapet.
// dir is a private directory for the app's socket; freePort finds a free
// loopback port for commands it does not recognise. argv and env are not
// modified.
func Prepare(argv, env []string, dir string, freePort func() (int, error)) (Plan, error) {
	p := Plan{Argv: append([]string(nil), argv...), Env: append([]string(nil), env...)}
	if len(argv) == 0 {
		return p, fmt.Errorf("no command given after --")
	}
	sock := filepath.Join(dir, SocketName)
	at, name := findServer(argv)
	if at < 0 {
		port, err := freePort()
		if err != nil {
			return p, fmt.Errorf("finding a private port for the app: %w", err)
		}
		p.Env = setEnv(p.Env, "PORT", strconv.Itoa(port))
		p.Upstream = "http://127.0.0.1:" + strconv.Itoa(port)
		p.Notes = append(p.Notes, fmt.Sprintf("%s is not a server Parapet knows (gunicorn, uvicorn, daphne, waitress-serve): it gets PORT=%d; if it listens elsewhere, set upstream", filepath.Base(argv[0]), port))
		return p, nil
	}
	p.Server = name
	srv := servers[name]
	head, args := p.Argv[:at+1], p.Argv[at+1:]

	// A socket the user already chose is kept as it is.
	if srv.unixPrefix != "" {
		for _, v := range values(args, srv.listen) {
			if strings.HasPrefix(v, srv.unixPrefix) {
				p.Upstream = v
				return p, nil
			}
		}
	}
	if vs := values(args, socketFlags[name]); len(vs) > 0 {
		p.Upstream = "unix:" + vs[0]
		return p, nil
	}

	sockValue := sock
	if srv.unixPrefix != "" {
		sockValue = srv.unixPrefix + sock
	}
	if name == "gunicorn" && len(values(args, srv.listen)) == 0 {
		// No --bind on the command line: gunicorn would take one from
		// GUNICORN_CMD_ARGS, its config file or $PORT (Heroku's), which
		// Parapet holds. GUNICORN_CMD_ARGS wins over the config file.
		cur, _ := lookupEnv(p.Env, "GUNICORN_CMD_ARGS")
		fields := strings.Fields(cur)
		for _, v := range values(fields, srv.listen) {
			if strings.HasPrefix(v, srv.unixPrefix) {
				p.Upstream = v
				return p, nil
			}
		}
		kept, old := remove(fields, srv.listen)
		next := strings.Join(append(kept, "--bind", sockValue), " ")
		p.Env = setEnv(p.Env, "GUNICORN_CMD_ARGS", next)
		p.Upstream = sockValue
		if len(old) > 0 {
			p.Notes = append(p.Notes, fmt.Sprintf("GUNICORN_CMD_ARGS --bind %s replaced by %s: Parapet owns $PORT", strings.Join(old, ","), sockValue))
		} else {
			p.Notes = append(p.Notes, fmt.Sprintf("gunicorn has no --bind: GUNICORN_CMD_ARGS gets --bind %s (Parapet owns $PORT)", sockValue))
		}
		return p, nil
	}
	kept, old := remove(args, srv.listen)
	flag := []string{srv.socket, sockValue}
	if srv.joined {
		flag = []string{srv.socket + "=" + sockValue}
	}
	// Right after the server's name: getopt-style parsers (waitress-serve)
	// stop at the first argument that is not an option.
	p.Argv = append(append(append([]string(nil), head...), flag...), kept...)
	if name == "gunicorn" {
		p.Upstream = sockValue
	} else {
		p.Upstream = "unix:" + sock
	}
	what := "no listen flags"
	if len(old) > 0 {
		what = "listen flags " + strings.Join(old, " ")
	}
	p.Notes = append(p.Notes, fmt.Sprintf("%s: %s replaced by %s %s (Parapet owns $PORT)", name, what, srv.socket, sockValue))
	return p, nil
}

// findServer finds the app server in argv: its own name (possibly behind
// wrappers such as newrelic-admin run-program or ddtrace-run), or
// `python -m NAME`. It returns the index of the server's name and its key.
func findServer(argv []string) (int, string) {
	for i, a := range argv {
		base := filepath.Base(a)
		if i > 0 && argv[i-1] == "-m" {
			if base == "waitress" {
				return i, "waitress-serve"
			}
		}
		if _, ok := servers[base]; ok {
			return i, base
		}
	}
	return -1, ""
}

// values returns the values of the flags in args, in order: "--flag v",
// "--flag=v", and for one-letter flags "-fv".
func values(args, flags []string) []string {
	_, vs := remove(args, flags)
	var out []string
	for i := 1; i < len(vs); i += 2 {
		out = append(out, vs[i])
	}
	return out
}

// remove returns args without the flags (and their values), and the
// removed flags and values as pairs (flag, value, flag, value...).
func remove(args, flags []string) (kept, removed []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			kept = append(kept, args[i:]...)
			break
		}
		matched := false
		for _, f := range flags {
			switch {
			case a == f && i+1 < len(args):
				removed = append(removed, f, args[i+1])
				i++
				matched = true
			case strings.HasPrefix(a, f+"="):
				removed = append(removed, f, a[len(f)+1:])
				matched = true
			case len(f) == 2 && f[0] == '-' && f[1] != '-' && strings.HasPrefix(a, f) && len(a) > 2:
				removed = append(removed, f, a[2:])
				matched = true
			}
			if matched {
				break
			}
		}
		if !matched {
			kept = append(kept, a)
		}
	}
	return kept, removed
}

func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// setEnv returns env with key set to value (earlier settings removed).
func setEnv(env []string, key, value string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// FreeLoopbackPort returns a loopback TCP port that was free a moment ago.
func FreeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
