package netlist

import (
	"encoding/json"
	"fmt"
	"io"
)

// googleRanges is the shape of Google's and Bing's published crawler
// range files (googlebot.json, bingbot.json).
type googleRanges struct {
	Prefixes []struct {
		IPv4 string `json:"ipv4Prefix"`
		IPv6 string `json:"ipv6Prefix"`
	} `json:"prefixes"`
}

// parseGoogleJSON reads a {"prefixes":[{"ipv4Prefix":...},{"ipv6Prefix":...}]}
// file. A bad prefix is reported with its index (as the "line") and skipped;
// a file that is not such JSON is an error.
func parseGoogleJSON(r io.Reader, opt ParseOptions, b *Builder, bad func(int, string, string)) error {
	var doc googleRanges
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return fmt.Errorf("%s: not a JSON range file: %w", opt.Source, err)
	}
	if doc.Prefixes == nil {
		return fmt.Errorf("%s: JSON range file has no \"prefixes\" list", opt.Source)
	}
	for i, p := range doc.Prefixes {
		text := p.IPv4
		if text == "" {
			text = p.IPv6
		}
		if text == "" {
			bad(i+1, "", "prefix entry without ipv4Prefix or ipv6Prefix")
			continue
		}
		pfx, err := ParseEntry(text)
		if err != nil {
			bad(i+1, text, err.Error())
			continue
		}
		b.Add(pfx)
	}
	return nil
}
