// Package geo maps an IP address to its country (and autonomous system,
// where the database has it) from a MaxMind-format .mmdb file: GeoLite2
// Country/City/ASN, DB-IP lite and IPinfo lite layouts are understood.
package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Result is what a lookup found; empty fields mean unknown.
type Result struct {
	// Country is the ISO 3166-1 alpha-2 code, upper case.
	Country string
	// ASN is the autonomous system number (0 if the database has none).
	ASN uint32
	// ASOrg is the autonomous system's organisation.
	ASOrg string
}

// layout is how a database writes its records.
type layout uint8

const (
	layoutFlat    layout = iota // IPinfo lite, ip-location-db: country_code, asn "AS123", as_name
	layoutMaxMind               // GeoLite2 / GeoIP2 / DB-IP: country.iso_code, autonomous_system_*
)

// DB is an open database. Safe for concurrent lookups.
type DB struct {
	r      *maxminddb.Reader
	layout layout
	hasASN bool
	source string
}

// maxmindRecord decodes only what Parapet uses from GeoLite2/DB-IP records.
type maxmindRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	ASN   uint32 `maxminddb:"autonomous_system_number"`
	ASOrg string `maxminddb:"autonomous_system_organization"`
}

// flatRecord decodes IPinfo lite and ip-location-db records.
type flatRecord struct {
	CountryCode string `maxminddb:"country_code"`
	ASN         string `maxminddb:"asn"`
	ASName      string `maxminddb:"as_name"`
}

// Open opens a .mmdb file.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening geo database %s: %w", path, err)
	}
	return newDB(r, path), nil
}

// OpenBytes opens a database held in memory.
func OpenBytes(b []byte, source string) (*DB, error) {
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("opening geo database %s: %w", source, err)
	}
	return newDB(r, source), nil
}

func newDB(r *maxminddb.Reader, source string) *DB {
	t := strings.ToLower(r.Metadata.DatabaseType)
	db := &DB{r: r, source: source}
	if strings.Contains(t, "geolite2") || strings.Contains(t, "geoip2") || strings.Contains(t, "dbip") {
		db.layout = layoutMaxMind
	}
	db.hasASN = strings.Contains(t, "asn") || strings.Contains(t, "ipinfo")
	return db
}

// HasASN reports whether the database carries autonomous system data.
func (db *DB) HasASN() bool { return db.hasASN }

// Describe names the database: its type, build date and source.
func (db *DB) Describe() string {
	m := db.r.Metadata
	return fmt.Sprintf("%s built %s from %s", m.DatabaseType, m.BuildTime().UTC().Format("2006-01-02"), db.source)
}

// Close releases the database.
func (db *DB) Close() error { return db.r.Close() }

// Lookup finds ip. An address the database does not cover is an empty
// Result, not an error.
func (db *DB) Lookup(ip netip.Addr) (Result, error) {
	if !ip.IsValid() {
		return Result{}, errors.New("invalid address")
	}
	res := db.r.Lookup(ip.Unmap())
	if err := res.Err(); err != nil {
		return Result{}, err
	}
	if !res.Found() {
		return Result{}, nil
	}
	switch db.layout {
	case layoutFlat:
		var rec flatRecord
		if err := res.Decode(&rec); err != nil {
			return Result{}, fmt.Errorf("decoding %s: %w", ip, err)
		}
		asn, _ := ParseASN(rec.ASN)
		return Result{Country: strings.ToUpper(rec.CountryCode), ASN: asn, ASOrg: rec.ASName}, nil
	default:
		var rec maxmindRecord
		if err := res.Decode(&rec); err != nil {
			return Result{}, fmt.Errorf("decoding %s: %w", ip, err)
		}
		c := rec.Country.ISOCode
		if c == "" {
			c = rec.RegisteredCountry.ISOCode
		}
		return Result{Country: strings.ToUpper(c), ASN: rec.ASN, ASOrg: rec.ASOrg}, nil
	}
}

// NormalizeCountry upper-cases a country code and reports whether it is
// one a database can return: an assigned ISO 3166-1 alpha-2 code, XK
// (Kosovo) and EU (the European Union, in some databases), or ZZ (unknown).
// A made-up code such as XX, or UK for GB, is refused: a rule naming it
// would never match.
func NormalizeCountry(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return s, false
	}
	return s, strings.Contains(countryCodes, " "+s+" ")
}

// countryCodes are the ISO 3166-1 alpha-2 codes (Debian's iso-codes 4.15,
// 249 codes) and XK, EU, ZZ, space separated.
const countryCodes = " " +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ " +
	"BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR " +
	"CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ " +
	"MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF " +
	"PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI " +
	"SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR " +
	"TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW" +
	" XK EU ZZ "

// ParseASN parses "AS15169" or "15169".
func ParseASN(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	if len(t) > 2 && strings.EqualFold(t[:2], "AS") {
		t = t[2:]
	}
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not an AS number (15169 or AS15169)", s)
	}
	return uint32(n), nil
}
