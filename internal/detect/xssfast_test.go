package detect

import (
	"math/rand"
	"net/url"
	"strings"
	"testing"

	"github.com/corazawaf/libinjection-go"
)

// TestCannotBeXSSAgreesWithLibinjection checks cannotBeXSS against
// libinjection itself: no value it says libinjection cannot flag is
// flagged. The values: every CRS regression test's URI, body and headers
// (raw and URL-decoded) and hand-written payloads, each with its '<' and
// '=' dropped or replaced by every other byte that matters to the HTML5
// tokenizer, and random strings over those bytes. It also requires that
// payloads libinjection flags keep a '<' or '=' (the check is not vacuous)
// and that cannotBeXSS lets them through.
func TestCannotBeXSSAgreesWithLibinjection(t *testing.T) {
	seeds := []string{
		`<script>alert(1)</script>`, `x onerror=alert(1)`, `" onmouseover="alert(1)`, `' onload='x`,
		"` onfocus=`x", `javascript:alert(1)`, `<img src=x onerror=alert(1)>`, `<!DOCTYPE html>`,
		`<!--[if IE]>`, `<?import x>`, `<svg/onload=alert(1)>`, `a href=javascript:alert(1)`,
		`x style=expression(alert(1))`, `xmlns:x=y`, `<%x%>`, `x/onload=y`, `x onload = y`,
		`onclick`, `x onclick`, `'onclick'`, "x\x00onerror=y", `data:text/html;base64,PHNjcmlwdD4=`,
		`x src="javascript:alert(1)"`, `x formaction=javascript:y`, `"><script>`,
	}
	eachCRSTestFile(t, func(_ string, f *crsTestFile) {
		for _, tc := range f.Tests {
			for _, st := range tc.Stages {
				in := st.Input
				var vs []string
				if in.URI != nil {
					vs = append(vs, *in.URI)
				}
				if in.Data != nil {
					vs = append(vs, *in.Data)
				}
				for _, h := range in.Headers {
					vs = append(vs, h)
				}
				for _, v := range vs {
					seeds = append(seeds, v)
					if d, err := url.QueryUnescape(v); err == nil {
						seeds = append(seeds, d)
					}
				}
			}
		}
	})
	flagged := 0
	for _, s := range seeds {
		if libinjection.IsXSS(s) {
			flagged++
			if cannotBeXSS(s) {
				t.Fatalf("cannotBeXSS(%q) but libinjection flags it", s)
			}
		}
	}
	if flagged < 100 {
		t.Fatalf("only %d seeds are flagged by libinjection: the seeds are not XSS enough", flagged)
	}
	// The bytes the tokenizer and the checks react to, '<' and '=' aside.
	others := []string{">", "/", " ", "\t", "\n", "\x00", "'", `"`, "`", "!", "?", "%", "-", ":", "&", "[", ""}
	checked := 0
	check := func(v string) {
		if !cannotBeXSS(v) {
			return
		}
		checked++
		if libinjection.IsXSS(v) {
			t.Fatalf("cannotBeXSS(%q) but libinjection flags it", v)
		}
	}
	for _, s := range seeds {
		for _, o := range others {
			check(strings.NewReplacer("<", o, "=", o).Replace(s))
			check(strings.NewReplacer("<", "", "=", o).Replace(s))
			check(strings.NewReplacer("<", o, "=", " ").Replace(s))
		}
	}
	rng := rand.New(rand.NewSource(17))
	words := append([]string{"onload", "onerror", "javascript:", "href", "src", "style", "xmlns", "script", "DOCTYPE", "x", "a1"}, others...)
	n := 200000
	if testing.Short() || raceEnabled { // -race: the volume finds no race
		n = 20000
	}
	for range n {
		var b strings.Builder
		for range 1 + rng.Intn(8) {
			b.WriteString(words[rng.Intn(len(words))])
		}
		check(b.String())
	}
	if checked < n/2 {
		t.Fatalf("only %d values checked", checked)
	}
}
