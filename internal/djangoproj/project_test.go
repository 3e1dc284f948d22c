package djangoproj

import (
	"reflect"
	"testing"
)

func TestLiteral(t *testing.T) {
	for _, tc := range []struct {
		src   string
		known bool
		str   string
		list  []string
	}{
		{`X = "a" 'b'`, true, "ab", nil},
		{"X = ['a',  # comment\n  \"b\",\n]", true, "", []string{"a", "b"}},
		{`X = ("a",)`, true, "", []string{"a"}},
		{`X = []`, true, "", []string{}},
		{`X = r"^x\d"`, true, `^x\d`, nil},
		{`X = f"{HOST}"`, false, "", nil},
		{`X = os.environ.get("X", "").split(",")`, false, "", nil},
		{`X = ["a"] + EXTRA`, false, "", nil},
		{`X = env.list("X", default=["a"])`, false, "", nil},
		{"X = \"\"\"multi\nline\"\"\"", true, "multi\nline", nil},
	} {
		st := statements(tokenize(tc.src))
		if len(st) != 1 {
			t.Errorf("%q: %d statements", tc.src, len(st))
			continue
		}
		v, ok := literal(st[0][2:])
		if ok != tc.known || v.Str != tc.str || (tc.list != nil && !reflect.DeepEqual(v.List, tc.list)) {
			t.Errorf("%q: %+v %v", tc.src, v, ok)
		}
	}
}

func TestImportTarget(t *testing.T) {
	for _, tc := range []struct{ pkg, src, want string }{
		{"config.settings", "from .base import *", "config.settings.base"},
		{"config.settings", "from ..common import *", "config.common"},
		{"config.settings", "from mysite.base import *", "mysite.base"},
	} {
		st := statements(tokenize(tc.src))[0]
		if got := importTarget(tc.pkg, st[1:len(st)-2]); got != tc.want {
			t.Errorf("%q in %s: %q, want %q", tc.src, tc.pkg, got, tc.want)
		}
	}
}
