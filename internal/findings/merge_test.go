package findings

import (
	"fmt"
	"strings"
	"testing"
)

// Changes far apart make two hunks with three lines of context each, and
// their line numbers are those of the files.
func TestUnifiedDiffHunks(t *testing.T) {
	var a []string
	for i := 1; i <= 30; i++ {
		a = append(a, fmt.Sprintf("line %d", i))
	}
	b := append([]string{}, a...)
	b[4] = "changed 5"
	b = append(b[:25], append([]string{"inserted"}, b[25:]...)...)
	got := UnifiedDiff("a", "b", strings.Join(a, "\n")+"\n", strings.Join(b, "\n")+"\n")
	want := `--- a
+++ b
@@ -2,7 +2,7 @@
 line 2
 line 3
 line 4
-line 5
+changed 5
 line 6
 line 7
 line 8
@@ -23,6 +23,7 @@
 line 23
 line 24
 line 25
+inserted
 line 26
 line 27
 line 28
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if UnifiedDiff("a", "b", "x\n", "x\n") != "" {
		t.Error("equal files differ")
	}
}

// A list item is appended once; a key set to the value it has is no change.
func TestMergeConfigIsIdempotent(t *testing.T) {
	changes := []Change{
		{Path: []string{"harden", "cookies"}, AppendKey: "name", Value: map[string]any{"name": "sessionid", "secure": true}},
		{Path: []string{"edge", "https_redirect"}, Value: "auto"},
	}
	once, err := MergeConfig([]byte("harden:\n  cookies: []\n"), changes)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := MergeConfig(once, changes)
	if err != nil {
		t.Fatal(err)
	}
	if string(once) != string(twice) || strings.Count(string(once), "sessionid") != 1 || !strings.Contains(string(once), "https_redirect: auto") {
		t.Fatalf("once:\n%s\ntwice:\n%s", once, twice)
	}
	if _, err := MergeConfig([]byte("- a list\n"), changes); err == nil {
		t.Error("a YAML list accepted as a config")
	}
}
