// Package geotest writes tiny .mmdb databases for tests, in the layouts
// Parapet reads.
package geotest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Entry is what one network maps to.
type Entry struct {
	Country string
	ASN     uint32
	ASOrg   string
}

// WriteGeoLite2 writes a GeoLite2-Country-shaped database (country.iso_code,
// plus autonomous_system_* when an entry has an ASN) of CIDR -> entry into
// a temp dir and returns its path.
func WriteGeoLite2(t testing.TB, entries map[string]Entry) string {
	t.Helper()
	return write(t, "GeoLite2-Country", entries, func(e Entry) mmdbtype.Map {
		m := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(e.Country)}}
		if e.ASN != 0 {
			m["autonomous_system_number"] = mmdbtype.Uint32(e.ASN)
			m["autonomous_system_organization"] = mmdbtype.String(e.ASOrg)
		}
		return m
	})
}

// WriteIPinfoLite writes an IPinfo-lite-shaped database (country_code, asn
// "AS123", as_name).
func WriteIPinfoLite(t testing.TB, entries map[string]Entry) string {
	t.Helper()
	return write(t, "ipinfo lite.mmdb", entries, func(e Entry) mmdbtype.Map {
		m := mmdbtype.Map{"country_code": mmdbtype.String(e.Country), "country": mmdbtype.String("Somewhere")}
		if e.ASN != 0 {
			m["asn"] = mmdbtype.String("AS" + itoa(e.ASN))
			m["as_name"] = mmdbtype.String(e.ASOrg)
		}
		return m
	})
}

func itoa(n uint32) string {
	if n == 0 {
		return "0"
	}
	var b [10]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func write(t testing.TB, dbType string, entries map[string]Entry, record func(Entry) mmdbtype.Map) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, e := range entries {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(n, record(e)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "test.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}
