package detect

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
)

// The CRS runs a rule of paranoia level N only where the transaction's
// detection level is at least N: ahead of each level's rules, in each
// phase, a gate
//
//	SecRule TX:DETECTION_PARANOIA_LEVEL "@lt N" "id:...,phase:P,pass,nolog,...,skipAfter:END-..."
//
// skips to the file's end marker, and the anomaly scoring adds each
// level's score under rules such as
//
//	SecRule TX:BLOCKING_PARANOIA_LEVEL "@ge N" "...,setvar:'tx.blocking_inbound_anomaly_score=+...'"
//
// Parapet sets both levels from detection.paranoia_level (900000 sets the
// blocking level, CRS 901 copies it to the detection level), and nothing
// else writes them unless the user's directives do. So each of these
// rules' answers is known when the rule set is built, and a GET paid for
// 56 gate evaluations that always answer the same. paranoiaPruning
// removes, at build time:
//   - every gate that never fires (N at most the level);
//   - every gate that always fires (N above the level) with the rules of
//     its phase between it and its marker, which never run;
//   - every "@ge N" scoring rule with N above the level, which never
//     matches (a rule that does not match has no effect).
//
// A request's answer is unchanged: the removed rules would have done
// nothing, or skipped exactly the rules removed with them. Where that
// cannot be shown the rules stay: a gate that always fires is kept, with
// its rules, when other directives (exclusions, the user's) name its id or
// a range holding it (a removal at run time could let its rules run), and
// nothing is pruned when they mention a paranoia level, or when a region
// holds a marker other rules could jump to or a rule without an explicit
// phase. TestParanoiaPruningChangesNoAnswer compares the decisions with
// and without it.

// gateRule matches a CRS paranoia gate or "@ge" scoring rule: the
// variable, the operator's level, and the actions.
var gateRule = regexp.MustCompile(`^SecRule\s+TX:(DETECTION|BLOCKING)_PARANOIA_LEVEL\s+"@(lt|ge) ([1-4])"\s+"([^"]*)"$`)

// gateActions are the actions a gate may have besides id, phase and
// skipAfter; a scoring rule's may also have setvar.
var gateActions = map[string]bool{"pass": true, "nolog": true, "tag": true, "ver": true, "t": true}

// actionValues splits a rule's action list (no quotes around it) into
// name -> values.
func actionValues(actions string) map[string][]string {
	out := map[string][]string{}
	for _, a := range strings.Split(actions, ",") {
		a = strings.TrimSpace(a)
		name, value, _ := strings.Cut(a, ":")
		out[strings.ToLower(name)] = append(out[strings.ToLower(name)], strings.Trim(value, "'"))
	}
	return out
}

// mentionedIDs are the rule ids and id ranges directives name: every
// integer and "a-b" range in them (a superset: a number that is no id
// only keeps more rules).
type mentionedIDs [][2]int

var idToken = regexp.MustCompile(`\d+(?:\s*-\s*\d+)?`)

func idsIn(text string) mentionedIDs {
	var out mentionedIDs
	for _, tok := range idToken.FindAllString(text, -1) {
		lo, hi, isRange := strings.Cut(tok, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 == nil && err2 == nil {
			out = append(out, [2]int{a, b})
		}
	}
	return out
}

func (m mentionedIDs) has(id int) bool {
	for _, r := range m {
		if r[0] <= id && id <= r[1] {
			return true
		}
	}
	return false
}

// crsFileNames are the files crsFiles includes, in order.
func crsFileNames() []string {
	var names []string
	for _, line := range strings.Split(crsFiles, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "Include "); ok {
			names = append(names, name)
		}
	}
	return names
}

// paranoiaPruning returns the SecRuleRemoveById directive that prunes the
// CRS files of crsFS for level (see above), given the text of every other
// directive of the rule set (others); "" when nothing is to be removed.
func paranoiaPruning(crsFS fs.FS, level int, others string) (string, error) {
	if strings.Contains(strings.ToLower(others), "paranoia") {
		return "", nil
	}
	named := idsIn(others)
	var remove []int
	for _, name := range crsFileNames() {
		text, err := fs.ReadFile(crsFS, name)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", name, err)
		}
		ids, ok := pruneFile(string(text), level, named)
		if !ok {
			return "", nil
		}
		remove = append(remove, ids...)
	}
	if len(remove) == 0 {
		return "", nil
	}
	var b strings.Builder
	b.WriteString("SecRuleRemoveById")
	for _, id := range remove {
		fmt.Fprintf(&b, " %d", id)
	}
	return b.String(), nil
}

// region is an always-firing gate's reach: its phase and marker, and
// whether its rules are removed (false: the gate is kept, with them).
type region struct {
	phase  string
	marker string
	prune  bool
}

// pruneFile returns the ids pruneable in one CRS file; ok is false when
// the file is not as the pruning needs (then nothing is pruned).
func pruneFile(text string, level int, named mentionedIDs) (ids []int, ok bool) {
	var open []region
	chained := false
	for _, d := range splitDirectives(text) {
		t := d.text
		if marker, isMarker := strings.CutPrefix(t, "SecMarker"); isMarker {
			marker = strings.Trim(strings.TrimSpace(marker), `"'`)
			var kept []region
			for _, r := range open {
				switch {
				case r.marker == marker: // the region ends
				case r.prune:
					return nil, false // a marker inside a region: rules could jump into it
				default:
					kept = append(kept, r)
				}
			}
			open = kept
			continue
		}
		if !strings.HasPrefix(t, "SecRule") && !strings.HasPrefix(t, "SecAction") {
			continue
		}
		if chained { // a chain's link: removed or kept with its rule
			chained = strings.Contains(lastQuoted(t), "chain")
			continue
		}
		actions := lastQuoted(t)
		chained = hasAction(actions, "chain")
		av := actionValues(actions)
		if len(av["id"]) != 1 {
			continue
		}
		id, err := strconv.Atoi(av["id"][0])
		if err != nil {
			return nil, false
		}
		phase := ""
		if len(av["phase"]) == 1 {
			phase = av["phase"][0]
		}
		inRegion := false
		for _, r := range open {
			if r.prune && (phase == "" || phase == r.phase) {
				if phase == "" {
					return nil, false // a rule of the default phase inside a region
				}
				inRegion = true
			}
		}
		if inRegion {
			ids = append(ids, id)
			continue
		}
		m := gateRule.FindStringSubmatch(t)
		if m == nil || phase == "" {
			continue
		}
		n, _ := strconv.Atoi(m[3])
		switch {
		case m[2] == "lt" && m[1] == "DETECTION" && onlyActions(av, "skipafter") && len(av["skipafter"]) == 1:
			if n <= level {
				if !named.has(id) {
					ids = append(ids, id) // never fires
				}
				continue
			}
			r := region{phase: phase, marker: av["skipafter"][0], prune: !named.has(id)}
			if r.prune {
				ids = append(ids, id)
			}
			open = append(open, r)
		case m[2] == "ge" && onlyActions(av, "setvar") && n > level && !named.has(id):
			ids = append(ids, id) // never matches
		}
	}
	if len(open) > 0 {
		return nil, false // a gate whose marker is not in the file
	}
	return ids, true
}

// onlyActions reports whether av holds id, phase, extra and gateActions
// only.
func onlyActions(av map[string][]string, extra string) bool {
	for name := range av {
		if name != "id" && name != "phase" && name != extra && !gateActions[name] {
			return false
		}
	}
	return true
}

func hasAction(actions, name string) bool {
	for _, a := range strings.Split(actions, ",") {
		if strings.TrimSpace(a) == name {
			return true
		}
	}
	return false
}

// lastQuoted is the last double-quoted argument of a directive (a rule's
// actions).
func lastQuoted(t string) string {
	end := strings.LastIndexByte(t, '"')
	if end <= 0 {
		return ""
	}
	start := strings.LastIndexByte(t[:end], '"')
	if start < 0 {
		return ""
	}
	return t[start+1 : end]
}
