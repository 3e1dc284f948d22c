package detect

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestSurrogateEscapesPairedReadsAsJSONLoads: after surrogateEscapesPaired,
// gjson (Coraza's JSON reading and addJSONArgs) decodes every JSON string
// as encoding/json does, which, like json.loads, decodes the escape after
// a lone surrogate on its own (both give U+FFFD for the lone surrogate
// where Python keeps it). Random strings of escapes, pairs, lone
// surrogates, escaped backslashes and plain text.
func TestSurrogateEscapesPairedReadsAsJSONLoads(t *testing.T) {
	parts := []string{`\ud800`, `\udbff`, `\udc80`, `\uDFFF`, `\ud83d\ude00`, `\u003b`, `\u0024`, `\\`, `\\ud800`,
		`\n`, `\"`, `a`, `;`, `é`, `\u00e9`, `\uD83D`, `\uDE00`, `\u`, `x`}
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := rng.Intn(8); k >= 0; k-- {
			b.WriteString(parts[rng.Intn(len(parts))])
		}
		in := `{"k":"` + b.String() + `"}`
		var want map[string]string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			continue // not JSON (a \u without digits)
		}
		out := surrogateEscapesPaired([]byte(in))
		if got := gjson.GetBytes(out, "k").String(); got != want["k"] {
			t.Fatalf("%s -> %s: gjson reads %q, encoding/json %q", in, out, got, want["k"])
		}
	}
}

func TestSurrogateEscapesPairedCopiesOnlyWhenNeeded(t *testing.T) {
	plain := []byte(`{"a":"\ud83d\ude00 \\udc80 \u003b"}`)
	if out := surrogateEscapesPaired(plain); &out[0] != &plain[0] {
		t.Error("a body without lone surrogate escapes was copied")
	}
	lone := []byte(`{"a":"\udc80\u003b"}`)
	out := surrogateEscapesPaired(lone)
	if string(lone) != `{"a":"\udc80\u003b"}` {
		t.Errorf("the caller's bytes changed: %s", lone)
	}
	if string(out) != `{"a":"\uFFFD\u003b"}` {
		t.Errorf("got %s", out)
	}
}
