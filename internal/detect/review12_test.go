package detect

// Review 12: a hostile look at the base64 value filter (base64filter.go:
// the leading-run bound and the squeezed decoded text of plain values,
// commits a54d83e, eeb9db6, 466737d).

import (
	"encoding/base64"
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
)

// review12Pair builds the default stage with directives added, with and
// without the value filter.
func review12Pair(t *testing.T, directives string) (with, without *Stage) {
	t.Helper()
	cfg := config.Default()
	cfg.Detection.Directives = directives
	return review6Pair(t, cfg)
}

// review12Differ sends each value as a form field (and as a query
// argument) through both stages and reports every request answered
// differently; want names a rule the stage without the filter must match.
func review12Differ(t *testing.T, with, without *Stage, want int, values ...string) {
	t.Helper()
	for _, v := range values {
		for _, how := range []string{"form", "query"} {
			mk := func() *http.Request {
				if how == "form" {
					return form("/comments/", "q="+url.QueryEscape(v))
				}
				return browserRequest("GET", "/search/?q="+url.QueryEscape(v), nil)
			}
			a, b := observed(with, mk()), observed(without, mk())
			if want != 0 && !slices.Contains(b.matched, want) {
				t.Errorf("%s %q: rule %d not matched without the filter (%s): the test's premise fails", how, v, want, b)
			}
			if a.String() != b.String() {
				t.Errorf("%s %q:\n with the filter:    %s\n without the filter: %s", how, v, a, b)
			}
		}
	}
}

const review12Action = `phase:2,deny,status:403,capture,msg:'custom',severity:'CRITICAL'`

// TestReview12LowercaseAfterBase64MakesASCII: t:lowercase is in
// base64After, but strings.ToLower turns some non-ASCII runes into ASCII
// letters: U+212A KELVIN SIGN into 'k', U+0130 into 'i'. squeezeDecoded
// drops every byte above 0x7f, so a decoded "\u212Aill" squeezes to
// "ill", the literal "kill" is missing, and the filter skips a rule that
// matches "kill" after t:lowercase. "4oSqaWxs" is plain (base64 of
// "\u212Aill").
func TestReview12LowercaseAfterBase64MakesASCII(t *testing.T) {
	with, without := review12Pair(t,
		`SecRule ARGS "@rx kill" "id:9912001,t:none,t:base64Decode,t:lowercase,`+review12Action+`"`+"\n"+
			`SecRule ARGS "@rx id\(" "id:9912002,t:none,t:base64Decode,t:lowercase,`+review12Action+`"`)
	review12Differ(t, with, without, 9912001, "4oSqaWxs", "4oSqaWxsIC05")
	review12Differ(t, with, without, 9912002, "xLBkKA") // "\u0130d("
}

// TestReview12CaseFoldingAfterBase64: a (?i) pattern matches, by Unicode
// simple folding, U+017F (long s) for 's' and U+212A for 'k' (RE2 and
// Go's regexp alike). The decoded condition ignores the pattern's case
// folding; the squeezed text drops their bytes. "xb95c3RlbXh4" is plain
// (base64 of "\u017Fystemxx").
func TestReview12CaseFoldingAfterBase64(t *testing.T) {
	with, without := review12Pair(t,
		`SecRule ARGS "@rx (?i)system" "id:9912003,t:none,t:base64Decode,`+review12Action+`"`)
	review12Differ(t, with, without, 9912003, "xb95c3RlbXh4", "c3nFv3RlbXh4")
}

// TestReview12PlainBase64OfAttacks generates plain values that are the
// base64 of what the CRS's base64 rules (934100, 934101, 934160) match,
// varied (whitespace of every kind and '+' inside, letters up-cased, bytes
// above 0x7f and text around, partial quads, spaces put into the encoding,
// a plain tail after the run), and checks each rule directly: when the
// rule's chain and pattern (Go's regexp) match a form of the value, the
// filter must keep the rule for it.
func TestReview12PlainBase64OfAttacks(t *testing.T) {
	f, planned := plannedCRS(t)
	values := review12Values()
	mayMatch := make([]uint64, (f.slots+63)/64)
	skipped, matched, matchedRefused := 0, 0, 0
	for _, b := range f.base64 {
		r := planned[b.slot]
		re := regexp.MustCompile("(?s)" + r.Argument)
		forms := engineForms(t, r.Transformations, r.MultiMatch)
		bad := 0
		for _, v := range values {
			keep := slotKept(f, v, b.slot, mayMatch)
			if !keep {
				skipped++
			}
			if out, ok := matchedForm(re, forms(v)); ok {
				matched++
				if _, squeezed := squeezeDecoded(v, b.spaces, nil); !squeezed {
					matchedRefused++ // kept by formsMeet, if at all
				}
				if !keep && bad < 10 {
					bad++
					t.Errorf("rule %d matches %q (form %q) but the filter skips it", max(r.ID, r.ParentID), v, out)
				}
			}
		}
	}
	t.Logf("%d values, %d (rule, value) pairs skipped, %d matched (%d of them refused by squeezeDecoded)",
		len(values), skipped, matched, matchedRefused)
	if matched == 0 || matchedRefused == 0 {
		t.Fatal("no value matched, or none through its decoders' forms")
	}
}

// review12Values are plain values whose leading base64 run decodes to
// (varied) attacks on 934100, 934101 and 934160.
func review12Values() []string {
	variations := 40
	switch {
	case raceEnabled: // several times slower, and the volume finds no race
		variations = 1
	case testing.Short():
		variations = 5
	}
	attacks := []string{
		"_$$ND_FUNC$$_", "__js_function", "eval(String.fromCharCode", "function() {", "new Function (",
		"new\tFunction(", "this.constructor.constructor", "module.exports=", "process.env", "console.info(1)",
		`process["env"]`, `console["info"](1)`, "console.info.call(this,1)", "process.binding(foo)",
		"require.main.constructor._load(foo).readdirSync(foo2)", "process[req.query.a", "require[req",
		"process[mainModule", `require("child_process").exec('whoami')`, "( child_process )",
		"$7:Module:prototype", "$3:constructor:constructor", "String.fromCharCode", "require.resolve(",
		"require['cache']", "process.mainModule.require", "console.log(7*7)", "console['log'](1)",
		"close(", "exists (", "fork(", "open(", "spawn\t(", "read(", "require (", "watch(", "write(",
		"while(!false)", "while(!-0);", "while(!+0);", "while(!0);", `while(!"");`, "while(!'');",
		"while(!``);", "while(true);", "while(Infinity);", "while(-Infinity);", "while(+Infinity);",
		"while(this)", "while(new Foo)", "while(window)", "while(String)", "while(Boolean)", "while(Function)",
		"while(Object)", "while(Array)", "while({})", "while([1])", `while("x")`, "while('x')", "while(`x`)",
		"while (1) {}", "while ((!!true))", "while(!NaN)", "while(!null)", "while(!undefined)", "while(123)",
		"while(!!window)",
	}
	rng := rand.New(rand.NewSource(12))
	ws := []string{" ", "\t", "\n", "\v", "\f", "\r", "+", "\u00a0", "\u0085", "\u2028", "\u3000"}
	vary := func(a string) string {
		b := []byte(a)
		var out strings.Builder
		for i, c := range b {
			switch rng.Intn(12) {
			case 0:
				out.WriteString(ws[rng.Intn(len(ws))])
			case 1:
				if i > 0 {
					out.WriteString(ws[rng.Intn(len(ws))])
				}
			}
			if rng.Intn(10) == 0 && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out.WriteByte(c)
		}
		return out.String()
	}
	// escape writes some of a's bytes as the decoders after base64Decode
	// read them (urlDecodeUni, jsDecode), puts comments between others
	// (replaceComments): squeezeDecoded refuses such decoded bytes, and
	// the filter makes the rule's own forms of them (formsMeet).
	escapes := []string{"%%%02x", "%%u00%02x", "%%uff%02x", "\\x%02x", "\\u00%02x", "\\uff%02x", "\\u{%x}", "\\%o", "%%25%02x"}
	escape := func(a string) string {
		var out strings.Builder
		for _, c := range []byte(a) {
			switch rng.Intn(8) {
			case 0:
				e := escapes[rng.Intn(len(escapes))]
				if strings.Contains(e, "uff") {
					if c <= 0x20 || c >= 0x7f {
						break
					}
					c -= 0x20 // a full-width form: the decoders add 0x20
				}
				fmt.Fprintf(&out, e, c)
				continue
			case 1:
				out.WriteString("/**/")
			case 2:
				if !strings.ContainsRune("abfnrtvux01234567", rune(c)) {
					out.WriteByte('\\') // \C is C
				}
			}
			out.WriteByte(c)
		}
		return out.String()
	}
	around := []string{"", "x", "xy", "xyz", " ", "\u00e9", "\xff", "\x00", ";", "a=1&b=", "\u212a", "\u017f", "é ", "%", "\\", "/*", "%41"}
	var values []string
	add := func(payload string) {
		for range 8 {
			p := around[rng.Intn(len(around))] + payload + around[rng.Intn(len(around))]
			enc := base64.StdEncoding.EncodeToString([]byte(p))
			enc = strings.TrimRight(enc, "=")
			if strings.ContainsAny(enc, "+/") {
				continue
			}
			vs := []string{enc, enc[:len(enc)-1], enc + "." + "x", enc + "@a", enc + " x", enc + ":y-z_w"}
			// Spaces inside the encoding (removed by 934100 before decoding).
			if len(enc) > 4 {
				k := 1 + rng.Intn(len(enc)-2)
				vs = append(vs, enc[:k]+" "+enc[k:])
			}
			for _, v := range vs {
				if plainValue(v) {
					values = append(values, v)
				}
			}
		}
	}
	for _, a := range attacks {
		add(a)
		for range variations {
			add(vary(a))
			add(escape(a))
			add(vary(escape(a)))
		}
	}
	return values
}

// TestReview12StageDifferential sends a sample of review12Values through
// the stage with the value filter and without it (paranoia 4, monitor),
// as a query argument, a form field, a cookie, an argument name and a
// JSON string, and requires the same decision and matched rules.
func TestReview12StageDifferential(t *testing.T) {
	with, without := filterStages(t, paranoia4Monitor())
	values := review12Values()
	rng := rand.New(rand.NewSource(1212))
	rng.Shuffle(len(values), func(i, j int) { values[i], values[j] = values[j], values[i] })
	n := 1500
	if testing.Short() || raceEnabled {
		n = 100
	}
	// Plain values 934100 matches before decoding (multiMatch), with
	// spaces its removeWhitespace takes out, and after a leading run
	// that decodes to text.
	direct := []string{"process.env", "this.constructor", "this .constructor", "th is.cons tructor",
		"String.fromCharCode", "x String .fromCharCode", "Module:prototype", "a constructor:constructor",
		"__js_function", "_ _js_function", "require.main", "require.cache", "process.mainModule",
		"require.extensions", "process.binding", "process.global", "process.require", "dGhpcw.constructor",
		"ZXZhbCg process.env", "cHJvY2Vzcy5lbnY", "cHJvY2Vzcy5lbnY process.env", "cHJvY2 Vzcy5 lbnY"}
	differ, named := 0, 0
	for _, v := range append(direct, values[:n]...) {
		q := url.QueryEscape(v)
		for how, mk := range map[string]func() *http.Request{
			"query":  func() *http.Request { return browserRequest("GET", "/search/?q="+q, nil) },
			"form":   func() *http.Request { return form("/comments/", "q="+q) },
			"name":   func() *http.Request { return form("/comments/", q+"=1") },
			"cookie": func() *http.Request { r := browserRequest("GET", "/", nil); r.Header.Set("Cookie", "c="+v); return r },
			"json": func() *http.Request {
				r := browserRequest("POST", "/api/", strings.NewReader(`{"q":"`+v+`"}`))
				r.Header.Set("Content-Type", "application/json")
				return r
			},
		} {
			a, b := observed(with, mk()), observed(without, mk())
			if slices.ContainsFunc(b.matched, func(id int) bool { return id == 934100 || id == 934101 || id == 934160 }) {
				named++
			}
			if a.String() != b.String() {
				differ++
				if differ <= 10 {
					t.Errorf("%s %q:\n with the filter:    %s\n without the filter: %s", how, v, a, b)
				}
			}
		}
	}
	t.Logf("%d values, %d requests with a base64 rule matched, %d answered differently", n, named, differ)
	if named == 0 {
		t.Fatal("no request matched a base64 rule")
	}
}

// TestReview12CommentJoinedAcrossWhitespace: squeezeDecoded refuses "/*"
// only where the decoded bytes hold it side by side; a chain that removes
// whitespace before t:replaceComments (base64After allows any order)
// makes "/ *" a comment, which replaceComments turns into a space that a
// later t:removeWhitespace takes out: "uni/ **/on" becomes "union" while
// its squeezed text is "uni/**/on", so the literal "union" is missing and
// the rule is skipped. "dW5pLyAqKi9vbg" is plain (base64 of "uni/ **/on").
func TestReview12CommentJoinedAcrossWhitespace(t *testing.T) {
	with, without := review12Pair(t,
		`SecRule ARGS "@rx union" "id:9912004,t:none,t:base64Decode,t:removeWhitespace,t:replaceComments,t:removeWhitespace,`+review12Action+`"`+"\n"+
			`SecRule ARGS "@rx uni on" "id:9912005,t:none,t:base64Decode,t:urlDecodeUni,t:removeWhitespace,t:replaceComments,`+review12Action+`"`)
	review12Differ(t, with, without, 9912004, "dW5pLyAqKi9vbg", "dW5pLwkqKi9vbg")
	review12Differ(t, with, without, 9912005, "dW5pLysqKi9vbg") // "uni/+**/on": '+' a space, then removed
}
