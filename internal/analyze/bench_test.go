package analyze

import (
	"encoding/base64"
	"strings"
	"testing"
)

// BenchmarkInspect is the analyzer alone on values of each kind and
// size, every class at once (what one value costs the detection stage,
// before the rule-set cache remembers it).
func BenchmarkInspect(b *testing.B) {
	article := strings.Repeat("The renovated hall of Union Station opened to passengers on Monday; people could select "+
		"a seat, drop off their bags and update their tickets. \"It's worth the wait,\" said one. ", 120)
	for _, c := range []struct{ name, v string }{
		{"id", "3e4b0c5a-9c1d-4f3e-8a2b-6d7e8f9a0b1c"},
		{"search", "union station timetable 42"},
		{"comment2KB", article[:2048]},
		{"article20KB", article[:20480]},
		{"base64-4KB", base64.StdEncoding.EncodeToString([]byte(article[:3072]))},
		{"attack", "1' UNION SELECT username, password FROM auth_user--"},
	} {
		a := New(All, Arg)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.v)))
			b.ReportAllocs()
			for b.Loop() {
				a.Inspect(c.v)
			}
		})
	}
}
