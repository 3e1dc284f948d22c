package pyparse

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// stmtLines lists a module's statements as "line:Kind", nested ones
// included, in the order testdata/stmtlines.py prints CPython's.
func stmtLines(body []Stmt, out *[]string) {
	for _, s := range body {
		kind := reflect.TypeOf(s).Elem().Name()
		*out = append(*out, fmt.Sprintf("%d:%s", s.Position().Line, kind))
		switch s := s.(type) {
		case *If:
			stmtLines(s.Body, out)
			stmtLines(s.Else, out)
		case *For:
			stmtLines(s.Body, out)
			stmtLines(s.Else, out)
		case *While:
			stmtLines(s.Body, out)
			stmtLines(s.Else, out)
		case *With:
			stmtLines(s.Body, out)
		case *FuncDef:
			stmtLines(s.Body, out)
		case *ClassDef:
			stmtLines(s.Body, out)
		case *Try:
			stmtLines(s.Body, out)
			stmtLines(s.Else, out)
			stmtLines(s.Finally, out)
			for _, h := range s.Handlers {
				stmtLines(h.Body, out)
			}
		}
	}
}

// pythonFiles returns the .py files under dir (sorted), at most limit.
func pythonFiles(t *testing.T, dir string, limit int) []string {
	var files []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".py") {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	if len(files) > limit {
		files = files[:limit]
	}
	return files
}

// Every statement of real Python code (Django's own source, as Debian
// ships it, and the standard library) is found at the line CPython's ast
// module puts it, with the same kind, and no file has a syntax error.
func TestStatementsMatchCPython(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI needs /usr/bin/python3")
		}
		t.Skip("no /usr/bin/python3")
	}
	var files []string
	for _, dir := range []string{"/usr/lib/python3/dist-packages/django", "/usr/lib/python3.11"} {
		files = append(files, pythonFiles(t, dir, 1500)...)
	}
	if len(files) < 100 {
		t.Skipf("only %d Python files found", len(files))
	}
	want := map[string][]string{}
	for i := 0; i < len(files); i += 300 {
		batch := files[i:min(i+300, len(files))]
		out, err := exec.Command(python, append([]string{"testdata/stmtlines.py"}, batch...)...).Output()
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			line := sc.Text()
			j := strings.LastIndex(line, ":")
			j = strings.LastIndex(line[:j], ":")
			want[line[:j]] = append(want[line[:j]], line[j+1:])
		}
	}
	compared, bad := 0, 0
	for _, f := range files {
		w := want[f]
		if len(w) == 1 && w[0] == "0:unparsable" {
			continue // Python 2 leftovers, test data of lib2to3
		}
		src, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		m := Parse(string(src))
		var got []string
		stmtLines(m.Body, &got)
		compared++
		if len(m.Errors) > 0 || !reflect.DeepEqual(got, w) {
			bad++
			if bad <= 10 {
				diff := ""
				for k := 0; k < len(got) || k < len(w); k++ {
					g, x := "", ""
					if k < len(got) {
						g = got[k]
					}
					if k < len(w) {
						x = w[k]
					}
					if g != x {
						diff = fmt.Sprintf("statement %d: got %q, CPython %q", k, g, x)
						break
					}
				}
				t.Errorf("%s: errors %v; %s", f, m.Errors, diff)
			}
		}
	}
	t.Logf("%d files compared with CPython's ast, %d differ", compared, bad)
	if bad > 0 {
		t.Errorf("%d of %d files differ", bad, compared)
	}
}
