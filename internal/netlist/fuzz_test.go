package netlist

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseList feeds arbitrary list files (plain, Tor exit list and CSV)
// to the parser: it never panics, counts every bad line, reports line
// numbers inside the file, and every plain line that parses alone as an
// address or CIDR ends up in the set.
func FuzzParseList(f *testing.F) {
	for _, s := range []struct {
		data   string
		format uint8
		column string
	}{
		{"192.0.2.1\n10.0.0.0/8 # office\n2001:db8::/32\n", 0, ""},
		{"# comment\n\n  198.51.100.7  note\nnot-an-ip\n::ffff:1.2.3.4\n", 0, ""},
		{"ExitNode 0011\nPublished 2024-01-01\nExitAddress 203.0.113.9 2024-01-01 00:00:00\nExitAddress\n", 1, ""},
		{"network,country\n192.0.2.0/24,DE\nbad,XX\n", 2, "network"},
		{"start,end,asn\n10.0.0.0,10.0.0.255,1\n10.0.1.0,9.0.0.0,2\n", 2, "start,end"},
		{"\"a,b\nunterminated", 2, ""},
		{"1.2.3.4/33\nfe80::1%eth0\n0.0.0.0/0\n", 0, ""},
	} {
		f.Add(s.data, s.format, s.column)
	}
	f.Fuzz(func(t *testing.T, data string, format uint8, column string) {
		fm := []Format{FormatPlain, FormatTor, FormatCSV}[int(format)%3]
		got, err := ParseList(strings.NewReader(data), ParseOptions{Source: "fuzz", Format: fm, CSVColumn: column})
		if err != nil {
			return // an unusable CSV header or an over-long line: refused whole
		}
		if got.Set == nil {
			t.Fatal("no set and no error")
		}
		lines := strings.Count(data, "\n") + 1
		if len(got.Errors) > got.Bad {
			t.Fatalf("%d errors listed but %d bad lines counted", len(got.Errors), got.Bad)
		}
		for _, e := range got.Errors {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("error on line %d of a %d-line list: %v", e.Line, lines, e)
			}
		}
		if fm != FormatPlain {
			return
		}
		for _, line := range strings.Split(data, "\n") {
			entry := stripComment(line)
			if fs := strings.Fields(entry); len(fs) > 0 {
				entry = fs[0]
			}
			p, err := ParseEntry(entry)
			if err != nil || strings.ContainsRune(line, '\r') {
				continue
			}
			if a := p.Addr(); !got.Set.Contains(a) {
				t.Fatalf("line %q parsed as %v but %v is not in the set", line, p, a)
			}
			if p.Addr().Is4() && !got.Set.Contains(netip.AddrFrom16(p.Addr().As16())) {
				t.Fatalf("IPv4-mapped form of %v not matched", p.Addr())
			}
		}
	})
}
