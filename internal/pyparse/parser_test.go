package pyparse

import (
	"strings"
	"testing"
)

const modern = `import os
DB = f"postgres://{os.environ["USER"]}@{HOST!r:>{width}}/db"
if (v := os.environ.get("DEBUG")):
    DEBUG: bool = v == "1"
match os.environ.get("ENV"):
    case "prod":
        DEBUG = False
    case _:
        DEBUG = True
X = [*range(3)]
def f(a, /, b, *, c=1, **kw) -> int: pass
Y = r"\d+" b'\x00' if X else {k: v for k, v in {}.items() if k}
Z = lambda x, y=2: x + y
this is not valid python
TIMEOUT = 60 * \
    60
SQL = """
multi {line}
"""
A = f'{x=}' f"{'a' 'b'}" f"{{literal}}"
W = {**a, 'b': 1}
with (open(a) as f, open(b) as g): pass
`

func TestModernPythonParsesStatementByStatement(t *testing.T) {
	m := Parse(modern)
	var got []string
	stmtLines(m.Body, &got)
	want := []string{"1:Import", "2:Assign", "3:If", "4:AnnAssign", "5:BadStmt", "10:Assign", "11:FuncDef", "11:Simple",
		"12:Assign", "13:Assign", "14:BadStmt", "15:Assign", "17:Assign", "20:Assign", "21:Assign", "22:With", "22:Simple"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("statements:\n got %v\nwant %v", got, want)
	}
	if len(m.Errors) != 1 || !strings.Contains(m.Errors[0].Error(), "line 14") {
		t.Fatalf("errors: %v (want one, on line 14)", m.Errors)
	}
	if r := m.Body[3].(*BadStmt).Reason; !strings.Contains(r, "match") {
		t.Errorf("match: %q", r)
	}
	fs := m.Body[1].(*Assign).Value.(*FString)
	sub, ok := fs.Parts[1].(*Subscript)
	if !ok || sub.X.(*Attribute).Name != "environ" || sub.Index.(*Const).Str != "USER" || sub.Position().Line != 2 {
		t.Fatalf("f-string field: %#v", fs.Parts[1])
	}
	if n := fs.Parts[3].(*Name); n.ID != "HOST" || n.Col != 40 {
		t.Errorf("HOST at col %d", n.Col)
	}
	if w := m.Body[2].(*If).Test.(*NamedExpr); w.Target.ID != "v" {
		t.Errorf("walrus: %#v", w)
	}
	if c := m.Body[9].(*Assign).Value.(*BinOp); c.Op != "*" || c.R.(*Const).Raw != "60" {
		t.Errorf("continuation: %#v", c)
	}
	if s := m.Body[10].(*Assign).Value.(*Const); s.Str != "\nmulti {line}\n" || s.Line != 17 {
		t.Errorf("triple-quoted: %q line %d", s.Str, s.Line)
	}
	a := m.Body[11].(*Assign).Value.(*FString)
	if len(a.Parts) != 3 || a.Parts[0].(*Name).ID != "x" || a.Parts[1].(*Const).Str != "ab" || a.Parts[2].(*Const).Str != "{literal}" {
		t.Errorf("f-strings: %#v", a.Parts)
	}
	if d := m.Body[12].(*Assign).Value.(*Dict); len(d.Keys) != 2 || d.Keys[0] != nil {
		t.Errorf("dict: %#v", d)
	}
}

func TestStringEscapes(t *testing.T) {
	m := Parse(`S = 'a\tb\x41\u00e9\101\\' "c" r'\n'` + "\n")
	if got := m.Body[0].(*Assign).Value.(*Const).Str; got != "a\tbAé"+"A\\c\\n" {
		t.Errorf("%q", got)
	}
}

// Garbage never panics and always ends.
func FuzzParse(f *testing.F) {
	f.Add(modern)
	f.Add("def f(:\n  x = (\n")
	f.Add("f'{'\n")
	f.Fuzz(func(t *testing.T, src string) {
		Parse(src)
	})
}
