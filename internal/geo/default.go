package geo

import (
	_ "embed"
	"sync"
)

// defaultDB is DB-IP's "IP to Country Lite" database (CC BY 4.0, see
// data/README.md), embedded so country rules work with no setup.
//
//go:embed data/dbip-country.mmdb
var defaultDB []byte

// DefaultAttribution is the credit the database's licence asks for.
const DefaultAttribution = "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0"

var (
	defaultOnce sync.Once
	defaultOpen *DB
	defaultErr  error
)

// Default opens the embedded database (once; it reads the embedded bytes
// in place, without copying them).
func Default() (*DB, error) {
	defaultOnce.Do(func() {
		defaultOpen, defaultErr = OpenBytes(defaultDB, "the embedded DB-IP country lite database")
	})
	return defaultOpen, defaultErr
}
