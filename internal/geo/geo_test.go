package geo

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/parapet-waf/parapet/internal/geo/geotest"
)

func TestLookupLayouts(t *testing.T) {
	entries := map[string]geotest.Entry{
		"198.51.100.0/24": {Country: "FR", ASN: 64500, ASOrg: "Example Hosting"},
		"2001:db8::/32":   {Country: "jp"},
	}
	for name, path := range map[string]string{
		"geolite2": geotest.WriteGeoLite2(t, entries),
		"ipinfo":   geotest.WriteIPinfoLite(t, entries),
	} {
		t.Run(name, func(t *testing.T) {
			db, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			r, err := db.Lookup(netip.MustParseAddr("198.51.100.7"))
			if err != nil || r.Country != "FR" || r.ASN != 64500 || r.ASOrg != "Example Hosting" {
				t.Fatalf("%+v %v", r, err)
			}
			if r, _ := db.Lookup(netip.MustParseAddr("2001:db8::9")); r.Country != "JP" {
				t.Fatalf("v6: %+v", r)
			}
			if r, _ := db.Lookup(netip.MustParseAddr("203.0.113.1")); r != (Result{}) {
				t.Fatalf("unknown address: %+v", r)
			}
			if r, _ := db.Lookup(netip.MustParseAddr("::ffff:198.51.100.7")); r.Country != "FR" {
				t.Fatalf("mapped: %+v", r)
			}
		})
	}
}

func TestEmbeddedDefault(t *testing.T) {
	db, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]string{"8.8.8.8": "US", "2a00:1450:4001::1": "DE", "127.0.0.1": ""} {
		r, err := db.Lookup(netip.MustParseAddr(ip))
		if err != nil || r.Country != want {
			t.Errorf("%s: %+v %v, want %q", ip, r, err, want)
		}
	}
}

func TestOpenBadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.mmdb")
	os.WriteFile(p, []byte("not a database"), 0o600)
	if _, err := Open(p); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestParsers(t *testing.T) {
	if c, ok := NormalizeCountry(" de "); !ok || c != "DE" {
		t.Fatal(c)
	}
	for _, good := range []string{"GB", "us", "ZZ", "XK", "EU", "AX", "ZW"} {
		if _, ok := NormalizeCountry(good); !ok {
			t.Errorf("%q refused", good)
		}
	}
	for _, bad := range []string{"D", "DEU", "1A", "", "XX", "UK", "QQ", "AA"} {
		if _, ok := NormalizeCountry(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if n, err := ParseASN("AS15169"); err != nil || n != 15169 {
		t.Fatal(n, err)
	}
	for _, bad := range []string{"AS", "ASx", "-1", "0"} {
		if _, err := ParseASN(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	db, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	ip := netip.MustParseAddr("81.2.69.160")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = db.Lookup(ip)
	}
}
