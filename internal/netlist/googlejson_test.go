package netlist

import (
	"net/netip"
	"strings"
	"testing"
)

// Google's and Bing's published crawler range files parse into a set; a
// bad prefix is reported and skipped; something else is an error.
func TestParseGoogleJSON(t *testing.T) {
	doc := `{"creationTime":"2026-11-24T00:00:00.000000","prefixes":[
		{"ipv6Prefix":"2001:4860:4801:10::/64"},
		{"ipv4Prefix":"66.249.64.0/27"},
		{"ipv4Prefix":"not-a-prefix"},
		{}]}`
	p, err := ParseList(strings.NewReader(doc), ParseOptions{Source: "googlebot.json", Format: FormatGoogleJSON})
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{"66.249.64.5": true, "66.249.64.40": false, "2001:4860:4801:10::1": true, "2001:4860:4801:11::1": false} {
		if got := p.Set.Contains(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %v, want %v", ip, got, want)
		}
	}
	if p.Bad != 2 || len(p.Errors) != 2 || p.Errors[0].Line != 3 {
		t.Errorf("bad entries: %d %+v", p.Bad, p.Errors)
	}
	for _, bad := range []string{"66.249.64.0/27\n", `{"items":[]}`} {
		if _, err := ParseList(strings.NewReader(bad), ParseOptions{Source: "x.json", Format: FormatGoogleJSON}); err == nil {
			t.Errorf("%q accepted as a range file", bad)
		}
	}
	if f, err := ParseFormat("google-json"); err != nil || f.String() != "google-json" {
		t.Errorf("format name: %v %v", f, err)
	}
}
