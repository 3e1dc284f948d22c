package netlist

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"go4.org/netipx"
)

// Format is how a list file or feed is written.
type Format uint8

const (
	// FormatPlain is one address or CIDR per line; '#' and ';' start comments.
	FormatPlain Format = iota
	// FormatTor is the Tor bulk exit list (one address per line) or the
	// exit-addresses format ("ExitAddress 192.0.2.1 2024-01-01 00:00:00").
	FormatTor
	// FormatCSV is a CSV file with a header row; the column holding the
	// address or CIDR is named by the feed (default the first), or a pair of
	// "start,end" range columns.
	FormatCSV
	// FormatGoogleJSON is the JSON range file Google and Bing publish for
	// their crawlers: {"prefixes":[{"ipv4Prefix":"66.249.64.0/27"},{"ipv6Prefix":"2001:4860:4801:10::/64"}]}.
	FormatGoogleJSON
)

// ParseFormat parses "plain" (or ""), "tor" and "csv".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "plain":
		return FormatPlain, nil
	case "tor":
		return FormatTor, nil
	case "csv":
		return FormatCSV, nil
	case "google-json":
		return FormatGoogleJSON, nil
	}
	return 0, fmt.Errorf("%q is not a list format (plain, tor, csv, google-json)", s)
}

// String names the format.
func (f Format) String() string {
	switch f {
	case FormatTor:
		return "tor"
	case FormatCSV:
		return "csv"
	case FormatGoogleJSON:
		return "google-json"
	}
	return "plain"
}

// LineError is a bad line in a list, with its source and line number.
type LineError struct {
	Source string
	Line   int
	Text   string
	Reason string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Reason)
}

// ParseOptions tunes ParseList.
type ParseOptions struct {
	// Source names the list in errors (a file name or feed name).
	Source string
	Format Format
	// CSVColumn names the column holding the address or CIDR ("" = first
	// column). "start,end" names two columns holding a range.
	CSVColumn string
	// MaxErrors stops collecting line errors past this many (0 = 100);
	// the count of bad lines is still exact.
	MaxErrors int
}

// Parsed is what ParseList read.
type Parsed struct {
	Set *Set
	// Bad counts lines that could not be parsed.
	Bad int
	// Errors are the first bad lines (up to MaxErrors).
	Errors []*LineError
}

// ParseList reads a list. Bad lines are skipped and reported; the error
// is only for a failing reader or an unusable CSV header.
func ParseList(r io.Reader, opt ParseOptions) (*Parsed, error) {
	if opt.MaxErrors == 0 {
		opt.MaxErrors = 100
	}
	out := &Parsed{}
	var b Builder
	bad := func(line int, text, reason string) {
		out.Bad++
		if len(out.Errors) < opt.MaxErrors {
			out.Errors = append(out.Errors, &LineError{Source: opt.Source, Line: line, Text: text, Reason: reason})
		}
	}
	if opt.Format == FormatGoogleJSON {
		if err := parseGoogleJSON(r, opt, &b, bad); err != nil {
			return nil, err
		}
		out.Set = b.Build()
		return out, nil
	}
	if opt.Format == FormatCSV {
		if err := parseCSV(r, opt, &b, bad); err != nil {
			return nil, err
		}
		out.Set = b.Build()
		return out, nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		entry := stripComment(text)
		if entry == "" {
			continue
		}
		if opt.Format == FormatTor {
			fields := strings.Fields(entry)
			switch fields[0] {
			case "ExitAddress":
				if len(fields) < 2 {
					bad(line, text, "ExitAddress line without an address")
					continue
				}
				entry = fields[1]
			case "ExitNode", "Published", "LastStatus":
				continue
			}
		}
		if f := strings.Fields(entry); len(f) > 1 {
			entry = f[0] // "1.2.3.0/24 some note"
		}
		p, err := ParseEntry(entry)
		if err != nil {
			bad(line, text, err.Error())
			continue
		}
		b.Add(p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: reading line %d: %w", opt.Source, line+1, err)
	}
	out.Set = b.Build()
	return out, nil
}

func stripComment(s string) string {
	if i := strings.IndexAny(s, "#;"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func parseCSV(r io.Reader, opt ParseOptions, b *Builder, bad func(int, string, string)) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: reading CSV header: %w", opt.Source, err)
	}
	col, endCol := 0, -1
	if opt.CSVColumn != "" {
		names := strings.Split(opt.CSVColumn, ",")
		col = indexOf(header, names[0])
		if col < 0 {
			return fmt.Errorf("%s: CSV has no column %q (columns: %s)", opt.Source, names[0], strings.Join(header, ", "))
		}
		if len(names) == 2 {
			if endCol = indexOf(header, names[1]); endCol < 0 {
				return fmt.Errorf("%s: CSV has no column %q (columns: %s)", opt.Source, names[1], strings.Join(header, ", "))
			}
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad(pe.Line, "", pe.Err.Error())
				continue
			}
			return fmt.Errorf("%s: %w", opt.Source, err)
		}
		line, _ := cr.FieldPos(0) // only valid for a record read without error
		text := strings.Join(rec, ",")
		if col >= len(rec) || (endCol >= 0 && endCol >= len(rec)) {
			bad(line, text, "too few columns")
			continue
		}
		if endCol < 0 {
			p, err := ParseEntry(rec[col])
			if err != nil {
				bad(line, text, err.Error())
				continue
			}
			b.Add(p)
			continue
		}
		start, err1 := netip.ParseAddr(strings.TrimSpace(rec[col]))
		end, err2 := netip.ParseAddr(strings.TrimSpace(rec[endCol]))
		rng := netipx.IPRangeFrom(start.Unmap(), end.Unmap())
		if err1 != nil || err2 != nil || !rng.IsValid() {
			bad(line, text, fmt.Sprintf("%q-%q is not an address range", rec[col], rec[endCol]))
			continue
		}
		for _, p := range rng.Prefixes() {
			b.Add(p)
		}
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if strings.EqualFold(strings.TrimSpace(v), s) {
			return i
		}
	}
	return -1
}

// LoadFile parses a list file for the config: any bad line refuses it,
// with every bad line reported (file:line: reason).
func LoadFile(path string, format Format) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening list: %w", err)
	}
	defer f.Close()
	parsed, err := ParseList(f, ParseOptions{Source: path, Format: format})
	if err != nil {
		return nil, err
	}
	if parsed.Bad > 0 {
		errs := make([]error, len(parsed.Errors))
		for i, e := range parsed.Errors {
			errs[i] = e
		}
		if parsed.Bad > len(parsed.Errors) {
			errs = append(errs, fmt.Errorf("%s: %d more bad lines", path, parsed.Bad-len(parsed.Errors)))
		}
		return nil, errors.Join(errs...)
	}
	return parsed.Set, nil
}
