//go:build linux

package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"syscall"
)

// dropExecPages takes the executable's resident read-only pages (its
// code and read-only data) out of the process's RSS with
// madvise(MADV_DONTNEED). Those pages are clean copies of the binary's
// file: the kernel keeps them in the page cache and maps them back on
// the next access, so the code that runs per request comes back within
// its first requests, and what ran only to start or build a config
// (config parsing, rule compilation: some 20 MB of parapet's 37 MB of
// code and read-only data were resident after start) stays out. It
// returns how many bytes were resident in the mappings it dropped.
//
// Only the executable's mappings that can hold nothing but the file's
// contents are touched: not writable, no anonymous (copied-on-write)
// page, none locked. A writable mapping, or a read-only one with private
// copies (a dynamically linked binary's relocated RELRO segment), would
// lose what was written to it; those are skipped. Nothing in Parapet
// makes a read-only mapping writable, so none can gain a private copy
// between reading smaps and the madvise.
func dropExecPages() (uint64, error) {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("dropping the executable's pages from RSS: %w", err)
	}
	// An address in this function is in the executable's code mapping:
	// it names the file by device and inode, which a renamed, replaced
	// or overlay-mounted binary's path would not.
	maps, err := execMappings(smaps, uint64(reflect.ValueOf(dropExecPages).Pointer()))
	if err != nil {
		return 0, fmt.Errorf("dropping the executable's pages from RSS: %w", err)
	}
	var dropped uint64
	for _, m := range maps {
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), syscall.MADV_DONTNEED)
		if errno != 0 {
			return dropped, fmt.Errorf("dropping the executable's pages from RSS: madvise %x-%x: %w", m.start, m.end, errno)
		}
		dropped += m.rss
	}
	return dropped, nil
}

// execMapping is one mapping of /proc/self/smaps: its address range,
// the file it maps and what of it is resident.
type execMapping struct {
	start, end uint64
	perms      string
	dev        string // major:minor, as smaps writes it
	inode      uint64
	path       string
	rss        uint64 // bytes
	anonymous  uint64 // bytes; anonOK once the field was read
	locked     uint64 // bytes
	anonOK     bool
}

// execMappings parses /proc/self/smaps text and returns the mappings
// dropExecPages may drop: those of the file mapped at pc (an address in
// the executable's code) that are not writable, have no anonymous and no
// locked pages, and have resident pages. A mapping whose Anonymous field
// is missing is left out: what it holds is not known.
func execMappings(smaps []byte, pc uint64) ([]execMapping, error) {
	all, err := parseSmaps(smaps)
	if err != nil {
		return nil, err
	}
	var exe *execMapping
	for i := range all {
		if all[i].start <= pc && pc < all[i].end {
			exe = &all[i]
			break
		}
	}
	if exe == nil {
		return nil, fmt.Errorf("no mapping holds the code address %#x", pc)
	}
	if exe.inode == 0 {
		return nil, fmt.Errorf("the code address %#x is in a mapping of no file (%s)", pc, exe.path)
	}
	var out []execMapping
	for _, m := range all {
		if m.dev != exe.dev || m.inode != exe.inode || m.perms[1] == 'w' {
			continue
		}
		if !m.anonOK || m.anonymous != 0 || m.locked != 0 || m.rss == 0 {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// parseSmaps reads the mappings of /proc/<pid>/smaps (or maps: then
// without sizes). A mapping starts with its header line
//
//	00400000-00c5e000 r-xp 00000000 fe:00 247785    /app/bin/parapet
//
// and the lines after it up to the next header are "Field: N kB".
func parseSmaps(text []byte) ([]execMapping, error) {
	var out []execMapping
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if name, ok := strings.CutSuffix(fields[0], ":"); ok {
			if len(out) == 0 || len(fields) < 2 {
				continue
			}
			n, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				continue // VmFlags' words
			}
			m := &out[len(out)-1]
			switch name {
			case "Rss":
				m.rss = n << 10
			case "Anonymous":
				m.anonymous, m.anonOK = n<<10, true
			case "Locked":
				m.locked = n << 10
			}
			continue
		}
		m, err := parseMapsHeader(fields)
		if err != nil {
			return nil, fmt.Errorf("smaps: not a mapping line: %q: %w", sc.Text(), err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading smaps: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("smaps lists no mapping")
	}
	return out, nil
}

// parseMapsHeader parses the fields of one line of /proc/<pid>/maps:
// address range, permissions, offset, device, inode and the path (none
// for an anonymous mapping; spaces in it come back as one).
func parseMapsHeader(f []string) (execMapping, error) {
	var m execMapping
	if len(f) < 5 || len(f[1]) != 4 {
		return m, errors.New("want range, permissions, offset, device, inode")
	}
	lo, hi, _ := strings.Cut(f[0], "-")
	var err1, err2, err3 error
	m.start, err1 = strconv.ParseUint(lo, 16, 64)
	m.end, err2 = strconv.ParseUint(hi, 16, 64)
	m.inode, err3 = strconv.ParseUint(f[4], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return m, err
	}
	if m.end < m.start {
		return m, errors.New("range ends before it starts")
	}
	m.perms, m.dev, m.path = f[1], f[3], strings.Join(f[5:], " ")
	return m, nil
}
