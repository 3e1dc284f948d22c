package detect

import (
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"

	"github.com/parapet-waf/parapet/internal/config"
)

// prunedIDs is paranoiaPruning's answer as a set.
func prunedIDs(t *testing.T, level int, others string) map[int]bool {
	t.Helper()
	p, err := paranoiaPruning(coreruleset.FS, level, others)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]bool{}
	for _, f := range strings.Fields(strings.TrimPrefix(p, "SecRuleRemoveById")) {
		id, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%q in %q", f, p)
		}
		ids[id] = true
	}
	return ids
}

// crsRuleLevels reads the CRS files' rules as the CRS labels them: each
// id's paranoia-level tag (0: none) and whether it is a gate or a scoring
// rule on a paranoia level (a rule on TX:*_PARANOIA_LEVEL).
func crsRuleLevels(t *testing.T) (levels map[int]int, onLevel map[int]bool) {
	t.Helper()
	levels, onLevel = map[int]int{}, map[int]bool{}
	idRe := regexp.MustCompile(`id:(\d+)`)
	tagRe := regexp.MustCompile(`tag:'paranoia-level/(\d)'`)
	for _, name := range crsFileNames() {
		text, err := fs.ReadFile(coreruleset.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range splitDirectives(string(text)) {
			m := idRe.FindStringSubmatch(d.text)
			if m == nil {
				continue
			}
			id, _ := strconv.Atoi(m[1])
			if l := tagRe.FindStringSubmatch(d.text); l != nil {
				levels[id], _ = strconv.Atoi(l[1])
			}
			onLevel[id] = strings.Contains(d.text, "_PARANOIA_LEVEL \"@")
		}
	}
	return levels, onLevel
}

// TestParanoiaPruningRemovesTheLevelsAbove checks the pruning against the
// CRS's own labels, a different reading of the same files: at each level,
// every rule tagged with a higher paranoia level is removed, no rule
// tagged with this level or a lower one is, and every other removed rule
// is a gate or scoring rule on the paranoia level.
func TestParanoiaPruningRemovesTheLevelsAbove(t *testing.T) {
	levels, onLevel := crsRuleLevels(t)
	for level := 1; level <= 4; level++ {
		pruned := prunedIDs(t, level, "")
		gates := 0
		for id, l := range levels {
			if l > level && !pruned[id] {
				t.Errorf("level %d: rule %d (paranoia-level/%d) is kept", level, id, l)
			}
			if l > 0 && l <= level && pruned[id] {
				t.Errorf("level %d: rule %d (paranoia-level/%d) is removed", level, id, l)
			}
		}
		for id := range pruned {
			// 921170 counts parameters for 921180 (level 3) untagged.
			if levels[id] == 0 && !onLevel[id] && (id != 921170 || level >= 3) {
				t.Errorf("level %d: rule %d is removed: neither above the level nor on it", level, id)
			}
			if onLevel[id] {
				gates++
			}
		}
		// 14 files of 8 gates, and 2 phases of 4 "@ge" rules per level
		// above (949, blocking and detection scores).
		if want := 14*8 + 4*(4-level); gates < want {
			t.Errorf("level %d: %d gates and scoring rules removed, want at least %d", level, gates, want)
		}
	}
}

// TestParanoiaPruningStandsBack: the pruning stays out where other
// directives could make a removed rule matter.
func TestParanoiaPruningStandsBack(t *testing.T) {
	all := prunedIDs(t, 1, "")
	if !all[942013] || !all[942200] || !all[942011] {
		t.Fatalf("level 1 should remove 942013 (gate to level 2), 942200 (level 2) and 942011 (gate to level 1)")
	}
	// A level set by the user's rules: nothing is known.
	if got := prunedIDs(t, 1, `SecAction "id:1,phase:1,pass,nolog,setvar:tx.detection_paranoia_level=2"`); len(got) != 0 {
		t.Errorf("directives setting a paranoia level: %d rules removed", len(got))
	}
	// An exclusion removing the gate at run time lets its rules run: the
	// gate and the rules of its phase it skips stay, the others go
	// (942014 is the phase 2 gate to level 2, 942200 a phase 2 rule).
	got := prunedIDs(t, 1, `SecRule REQUEST_URI "@beginsWith /x" "id:4200001,phase:1,pass,nolog,ctl:ruleRemoveById=942014"`)
	if got[942014] || got[942200] {
		t.Errorf("942014 named by an exclusion: it (%v) or its rules (942200: %v) removed", got[942014], got[942200])
	}
	if !got[942013] || !got[941014] {
		t.Errorf("942014 named: the other gates (942013, 941014) should still go")
	}
	// A range holding a gate counts as naming it.
	if got := prunedIDs(t, 1, "SecRuleUpdateTargetById 941010-941016 \"!ARGS:x\""); got[941013] || got[941014] || !got[942013] {
		t.Errorf("a range over 941013-941014: %v %v %v", got[941013], got[941014], got[942013])
	}
}

// TestParanoiaPruningChangesNoAnswer runs a sample of the corpora and the
// CRS regression requests at paranoia levels 2 and 3 (the default and 4
// are TestValueFilterChangesNoAnswer's) through the stage with the
// pruning and the value filter and without them: the same decisions and
// matched rules.
func TestParanoiaPruningChangesNoAnswer(t *testing.T) {
	reqs := sameAnswerRequests(t)
	step := 3
	if raceEnabled || testing.Short() {
		step = 5
	}
	for _, level := range []int{2, 3} {
		cfg := paranoia4Monitor()
		cfg.Detection.ParanoiaLevel = level
		t.Run("paranoia-"+strconv.Itoa(level), func(t *testing.T) {
			with, without := review6Pair(t, cfg)
			n := 0
			for i := 0; i < len(reqs); i += step {
				rq := reqs[i]
				a, b := observed(with, rq.make()), observed(without, rq.make())
				if a.String() != b.String() {
					t.Errorf("%s:\n pruned:     %s\n not pruned: %s", rq.name, a, b)
				}
				n++
			}
			if n < 100 {
				t.Errorf("only %d requests", n)
			}
		})
	}
}

// TestParanoiaPruningKeepsExcludedRules: an exclusion (detection.exclusions)
// that removes a gate on a path lets that level's rules run there, with
// the pruning as without it.
func TestParanoiaPruningKeepsExcludedRules(t *testing.T) {
	cfg := config.Default()
	cfg.Detection.Exclusions = []config.DetectionExclusion{{Paths: []string{"/reports/"}, RuleIDs: []string{"942013", "942014"}}}
	with, without := review6Pair(t, cfg)
	for _, target := range []string{"/reports/?q=1%20or%20sleep(2)", "/other/?q=1%20or%20sleep(2)", "/reports/?q=SELECT%20*%20FROM%20users"} {
		a := observed(with, browserRequest("GET", target, nil))
		b := observed(without, browserRequest("GET", target, nil))
		if a.String() != b.String() {
			t.Errorf("%s:\n pruned:     %s\n not pruned: %s", target, a, b)
		}
	}
	id := 4200000
	before, after := exclusionRules(cfg.Detection.Exclusions, func() int { id++; return id })
	if got := prunedIDs(t, 1, before+after); got[942013] || got[942200] || !got[942015] {
		t.Errorf("an exclusion names 942013: removed 942013 %v, 942200 %v; 942015 (gate to level 3) %v", got[942013], got[942200], got[942015])
	}
}
