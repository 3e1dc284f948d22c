//go:build linux

package runtime

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// A sample of /proc/self/smaps: a static Go binary (text, rodata, data),
// a RELRO-like read-only mapping of it with a private copy, a writable one
// not written yet, a locked one, one not resident, one without an
// Anonymous field, another file, another file with the same inode on
// another device, the heap, the stack. Only the first two may go.
const sampleSmaps = `00400000-00c5e000 r-xp 00000000 fe:00 247785                     /app/bin/parapet (deleted)
Size:               8568 kB
Rss:                6012 kB
Anonymous:             0 kB
Locked:                0 kB
VmFlags: rd ex mr mw me dw sd 
00c5e000-01a8b000 r--p 0085e000 fe:00 247785                     /app/bin/parapet (deleted)
Size:              14516 kB
Rss:                4100 kB
Anonymous:             0 kB
Locked:                0 kB
VmFlags: rd mr mw me dw sd 
01a8b000-01a8c000 r--p 0168b000 fe:00 247785                     /app/bin/parapet (deleted)
Rss:                   4 kB
Anonymous:             4 kB
Locked:                0 kB
01a8c000-01b5e000 rw-p 0168c000 fe:00 247785                     /app/bin/parapet (deleted)
Rss:                 640 kB
Anonymous:           300 kB
Locked:                0 kB
01b5e000-01b5f000 rw-p 0175e000 fe:00 247785                     /app/bin/parapet (deleted)
Rss:                   4 kB
Anonymous:             0 kB
Locked:                0 kB
01b5f000-01b60000 r--p 0175f000 fe:00 247785                     /app/bin/parapet (deleted)
Rss:                   4 kB
Anonymous:             0 kB
Locked:                4 kB
01b60000-01b61000 r--p 01760000 fe:00 247785                     /app/bin/parapet (deleted)
Rss:                   0 kB
Anonymous:             0 kB
Locked:                0 kB
01b61000-01b62000 r--p 01761000 fe:00 247785                     /app/bin/parapet (deleted)
Rss:                   4 kB
Locked:                0 kB
01b62000-01b94000 rw-p 00000000 00:00 0                          [heap]
Rss:                 200 kB
Anonymous:           200 kB
7f0e482e1000-7f0e48338000 r--p 00000000 fe:00 316526                     /usr/lib/locale/C.utf8/LC_CTYPE
Rss:                 348 kB
Anonymous:             0 kB
Locked:                0 kB
7f0e48338000-7f0e48339000 r--p 00000000 fe:01 247785                     /other/device/same/inode
Rss:                   4 kB
Anonymous:             0 kB
Locked:                0 kB
7ffd1c5e4000-7ffd1c605000 rw-p 00000000 00:00 0                          [stack]
Rss:                  16 kB
Anonymous:            16 kB
`

func TestExecMappingsPicksOnlyTheExecutablesCleanReadOnlyMappings(t *testing.T) {
	got, err := execMappings([]byte(sampleSmaps), 0x00401234)
	if err != nil {
		t.Fatal(err)
	}
	want := []execMapping{
		{start: 0x00400000, end: 0x00c5e000, perms: "r-xp", rss: 6012 << 10},
		{start: 0x00c5e000, end: 0x01a8b000, perms: "r--p", rss: 4100 << 10},
	}
	if len(got) != len(want) {
		t.Fatalf("picked %d mappings, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.start != w.start || g.end != w.end || g.perms != w.perms || g.rss != w.rss || g.inode != 247785 || g.dev != "fe:00" {
			t.Errorf("mapping %d: %+v, want %x-%x %s rss %d", i, g, w.start, w.end, w.perms, w.rss)
		}
	}
	if got[0].path != "/app/bin/parapet (deleted)" {
		t.Errorf("path %q", got[0].path)
	}

	// The code address picks the file: from the locale file's mapping,
	// only that mapping.
	got, err = execMappings([]byte(sampleSmaps), 0x7f0e482e1000)
	if err != nil || len(got) != 1 || got[0].path != "/usr/lib/locale/C.utf8/LC_CTYPE" {
		t.Errorf("from the locale mapping: %+v, %v", got, err)
	}
}

func TestExecMappingsRefusesWhatIsNotAFilesCode(t *testing.T) {
	for name, tc := range map[string]struct {
		smaps string
		pc    uint64
	}{
		"address in no mapping":      {sampleSmaps, 0x10},
		"address in the heap":        {sampleSmaps, 0x01b62010},
		"empty":                      {"", 0x00401234},
		"garbage header":             {"not a mapping line at all\n", 0},
		"range not hex":              {"zz-00c5e000 r-xp 00000000 fe:00 247785 /x\n", 0},
		"range the wrong way round":  {"00c5e000-00400000 r-xp 00000000 fe:00 247785 /x\n", 0x00500000},
		"inode missing (maps short)": {"00400000-00c5e000 r-xp 00000000 fe:00\n", 0x00401234},
	} {
		if got, err := execMappings([]byte(tc.smaps), tc.pc); err == nil {
			t.Errorf("%s: no error, picked %+v", name, got)
		}
	}
}

// execPagesCanary is an initialised variable: it lives in the binary's
// writable data mapping, which dropping would reset to the file's 1.
var execPagesCanary = 1

func TestDropExecPagesShrinksTheExecutablesRSS(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	execPagesCanary = 2
	faultInReadOnlyExec(t, exe) // resident whatever ran before (-count=2 too)
	before, rssBefore := readOnlyExecRSS(t, exe), vmRSS(t)
	if before < 8<<20 {
		t.Fatalf("only %d KB of the test binary's read-only mappings are resident: nothing to measure", before>>10)
	}
	n, err := dropExecPages()
	after, rssAfter := readOnlyExecRSS(t, exe), vmRSS(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read-only mappings of %s: %d KB resident before, %d KB after (reported %d KB); VmRSS %d -> %d KB",
		exe, before>>10, after>>10, n>>10, rssBefore>>10, rssAfter>>10)
	if after > before/2 {
		t.Errorf("the executable's read-only mappings hold %d KB after dropping, %d KB before", after>>10, before>>10)
	}
	if n < before/2 || n > before+before/4 {
		t.Errorf("reported %d KB dropped; %d KB were resident", n>>10, before>>10)
	}
	if rssBefore-rssAfter < (before-after)/2 {
		t.Errorf("VmRSS %d -> %d KB: not down by about what the mappings lost (%d KB)", rssBefore>>10, rssAfter>>10, (before-after)>>10)
	}
	if execPagesCanary != 2 {
		t.Errorf("a written variable reads %d after dropping: a writable mapping was dropped", execPagesCanary)
	}
}

// faultInReadOnlyExec reads the non-writable mappings whose path is exe
// through /proc/self/mem, which maps their pages into the process.
func faultInReadOnlyExec(t *testing.T, exe string) {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	buf := make([]byte, 1<<20)
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || strings.Join(f[5:], " ") != exe || f[1][1] == 'w' {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("maps line %q", line)
		}
		for off := start; off < end; off += uint64(len(buf)) {
			n := min(uint64(len(buf)), end-off)
			if _, err := mem.ReadAt(buf[:n], int64(off)); err != nil {
				t.Fatalf("reading %s at %#x: %v", exe, off, err)
			}
		}
	}
}

// readOnlyExecRSS sums the Rss of the non-writable mappings whose path is
// exe, read from /proc/self/smaps independently of parseSmaps.
func readOnlyExecRSS(t *testing.T, exe string) uint64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sum uint64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 6 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			in = strings.Join(f[5:], " ") == exe && f[1][1] != 'w'
		case in && len(f) >= 2 && f[0] == "Rss:":
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			sum += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sum
}

// vmRSS is the process's VmRSS from /proc/self/status.
func vmRSS(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
