package formdata

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// django is the real Django parser (testdata/django_parse.py) in a
// Python process kept for the whole test run.
type django struct {
	mu     sync.Mutex
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *strings.Builder
}

var (
	djangoOnce sync.Once
	djangoProc *django
	djangoErr  error
)

// realDjango starts the Python side once per test process (each fuzzing
// worker has its own); the test is skipped where Django is missing.
func realDjango(t testing.TB) *django {
	t.Helper()
	testenv.RequireDjango(t)
	djangoOnce.Do(func() {
		cmd := exec.Command(testenv.Python, filepath.Join("testdata", "django_parse.py"))
		stderr := &strings.Builder{}
		cmd.Stderr = stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			djangoErr = err
			return
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			djangoErr = err
			return
		}
		if err := cmd.Start(); err != nil {
			djangoErr = err
			return
		}
		djangoProc = &django{in: in, out: bufio.NewReaderSize(out, 1<<20), stderr: stderr}
	})
	if djangoErr != nil {
		t.Fatalf("starting the Django parser: %v", djangoErr)
	}
	return djangoProc
}

func (d *django) ask(t testing.TB, req any, reply any) {
	t.Helper()
	line, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.in.Write(append(line, '\n')); err != nil {
		t.Fatalf("writing to the Django parser: %v\n%s", err, d.stderr)
	}
	answer, err := d.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading from the Django parser: %v\n%s", err, d.stderr)
	}
	if err := json.Unmarshal(answer, reply); err != nil {
		t.Fatalf("Django parser answered %q: %v", answer, err)
	}
}

// parsed is what one parser made of a body: its fields and files, sorted
// (Django's QueryDict and MultiValueDict do not keep the order across
// names).
type parsed struct {
	Post  [][2]string
	Files [][3]string // field, file name, content
	Error string      // Django failed, or Parapet refused
}

func (p *parsed) sort() {
	sort.Slice(p.Post, func(i, j int) bool {
		return p.Post[i][0] < p.Post[j][0] || p.Post[i][0] == p.Post[j][0] && p.Post[i][1] < p.Post[j][1]
	})
	sort.Slice(p.Files, func(i, j int) bool {
		a, b := p.Files[i], p.Files[j]
		return a[0] < b[0] || a[0] == b[0] && (a[1] < b[1] || a[1] == b[1] && a[2] < b[2])
	})
}

func (d *django) parse(t testing.TB, ct string, body []byte) parsed {
	t.Helper()
	var reply struct {
		Post  [][2]string `json:"post"`
		Files [][3]string `json:"files"`
		Error *string     `json:"error"`
	}
	d.ask(t, map[string]string{"ct": ct, "body": base64.StdEncoding.EncodeToString(body)}, &reply)
	p := parsed{Post: reply.Post, Files: reply.Files}
	if reply.Error != nil {
		p.Error = *reply.Error
	}
	for i := range p.Files {
		raw, err := base64.StdEncoding.DecodeString(p.Files[i][2])
		if err != nil {
			t.Fatal(err)
		}
		p.Files[i][2] = string(raw)
	}
	p.sort()
	return p
}

// parapet reads body with Reader as a caller sees it: every field's value
// and every file's content. refused is set for an *Error.
func parapet(ct string, body []byte) (p parsed, refused bool, err error) {
	r, err := NewReader(strings.NewReader(string(body)), ct)
	lastAppended := false // the last part was a file added to Files
	for err == nil {
		var part *Part
		if part, err = r.Next(); err != nil {
			break
		}
		lastAppended = false
		if part.IsFile {
			var content []byte
			if content, err = io.ReadAll(part.File()); err != nil {
				break
			}
			if part.Name != "" { // Django completes a file only "if old_field_name"
				p.Files = append(p.Files, [3]string{part.Name, part.FileName, string(content)})
				lastAppended = true
			}
			continue
		}
		var v string
		if v, err = part.Value(1 << 30); err != nil {
			break
		}
		p.Post = append(p.Post, [2]string{part.Name, v})
	}
	var fe *Error
	if errors.As(err, &fe) {
		return parsed{Error: fe.Reason}, true, nil
	}
	if errors.Is(err, io.EOF) {
		err = nil
		if r.lastFileDropped && lastAppended {
			p.Files = p.Files[:len(p.Files)-1]
		}
	}
	p.sort()
	return p, false, err
}

// compare fails t when Parapet, not refusing, read body differently from
// Django. It reports whether Parapet refused and whether Django failed.
func compare(t testing.TB, d *django, name, ct string, body []byte) (refused, djangoFailed bool) {
	t.Helper()
	want := d.parse(t, ct, body)
	got, refused, err := parapet(ct, body)
	if err != nil {
		t.Errorf("%s: Parapet failed: %v", name, err)
		return false, want.Error != ""
	}
	if refused || want.Error != "" {
		return refused, want.Error != ""
	}
	if g, w := fmt.Sprintf("%q %q", got.Post, got.Files), fmt.Sprintf("%q %q", want.Post, want.Files); g != w {
		t.Errorf("%s: Content-Type %q body %q\nParapet: %s\nDjango:  %s", name, ct, shortBody(body), g, w)
	}
	return false, false
}

func shortBody(b []byte) string {
	if len(b) > 600 {
		return string(b[:300]) + fmt.Sprintf("...(%d bytes)...", len(b)-600) + string(b[len(b)-300:])
	}
	return string(b)
}
