package detect

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/corazawaf/coraza/v3"
	corazaexp "github.com/corazawaf/coraza/v3/experimental"
)

// The value filter: one pass over a value finds the few @rx rules that
// can match it, and Coraza skips the others for that value (the engine
// side is Parapet's value filter patch, corazawaf/valuefilter.go). Most
// values of a JSON or form body are plain: words, numbers, e-mail
// addresses, identifiers. For those, every transformation the CRS's
// @rx rules use gives back a string that, lower-cased, is part of the
// value lower-cased, with or without its spaces (plainValue,
// safeTransformations), so a literal that must be in any match of a
// rule's pattern (Coraza's pre-filter analysis, experimental.RxLiterals)
// can only be there if it is in one of those two strings, and a pattern
// can only match if it can match a string of the value's kinds of bytes
// (reach.go). One Aho-Corasick pass
// over those two strings, with the literals of every rule, answers for
// all the rules at once; before, each rule transformed the value and
// scanned it on its own (about 80% of the time of a 10 KB JSON body).
//
// Values that are not plain are given every rule, as before; so are
// rules the filter cannot reason about (another operator, a negated one,
// a transformation outside the list, a pattern without literals).

// plainByte are the bytes a plain value is made of.
var plainByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range " ._@:-" {
		t[c] = true
	}
	return t
}()

// plainValue reports whether v is plain: not empty, only plainByte, no
// space at either end or next to another, no "--" in it or in it without
// its spaces ("- -": removeWhitespace then removeCommentsChar would join
// "dr- -op" into "drop", found by review 6). For such a value
// each transformation of safeTransformations gives v, v lower-cased, v
// without its spaces, or a part of one of those (normalizePath makes "."
// empty, normalizePathWin drops trailing dots and a ":stream" suffix),
// and so does any chain of them.
func plainValue(v string) bool {
	if v == "" || v[0] == ' ' || v[len(v)-1] == ' ' {
		return false
	}
	prev := byte(0)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !plainByte[c] || (c == prev && (c == ' ' || c == '-')) {
			return false
		}
		if c == '-' && prev == ' ' && i >= 2 && v[i-2] == '-' {
			return false
		}
		prev = c
	}
	return true
}

// safeTransformations are the transformations whose result on a plain
// value is the value, lower-cased, without spaces or empty (the byte
// that sets each one off, which plain values lack, in brackets):
// urlDecode and urlDecodeUni ('%', '+'), htmlEntityDecode ('&'),
// jsDecode, cssDecode and escapeSeqDecode ('\'), utf8toUnicode
// (non-ASCII), removeNulls and replaceNulls (NUL), cmdLine (quotes, '\',
// '^', ',', ';', '/', '(', runs of spaces; lower-cases), compressWhitespace
// and trim* (runs of spaces, spaces at the ends), replaceComments,
// removeComments and removeCommentsChar ("/*", "*/", "--", '#', "<!--"),
// normalizePath and normalizePathWin ('/', '\'; "." becomes empty,
// trailing dots and a Windows ":stream" suffix are cut).
// TestPlainValuesUnderSafeTransformations runs each over plain values.
var safeTransformations = map[string]bool{
	"none": true, "lowercase": true, "removeWhitespace": true, "compressWhitespace": true,
	"trim": true, "trimLeft": true, "trimRight": true,
	"urlDecode": true, "urlDecodeUni": true, "htmlEntityDecode": true,
	"jsDecode": true, "cssDecode": true, "escapeSeqDecode": true, "utf8toUnicode": true,
	"removeNulls": true, "replaceNulls": true, "cmdLine": true,
	"replaceComments": true, "removeComments": true, "removeCommentsChar": true,
	"normalizePath": true, "normalisePath": true, "normalizePathWin": true, "normalisePathWin": true,
}

// A rxCondition is what a plain value needs for a rule to match it,
// after any of its transformations: at least minLen bytes, every literal
// of all, and one of anyOf (when anyOf is set), each looked for in the
// value lower-cased, with and without its spaces.
type rxCondition struct {
	minLen int
	all    []int32 // needle ids
	anyOf  []int32
	hasAny bool
	// sets are needle sets of which each must have a member in the
	// value (restrict.go: the pattern restricted to plain bytes).
	sets [][]int32
	// setIDs name each of sets in the filter's needleSets (equal sets of
	// different rules share one id).
	setIDs []int32
	// reach answers, by the groups of plainGroup a value's bytes fall in,
	// whether the pattern matches any string of those bytes at all.
	reach *alphabetReach
	// remembered: a slot set for every value, for the answer memory
	// alone (planRemembered).
	remembered bool
}

// valueFilter plans the rules (Plan) and answers for values (Classify).
type valueFilter struct {
	conds    []rxCondition // by slot
	literals needleTable   // the conditions' needles
	// lenOnly are the slots of rules with no literal to look for, by
	// minLen: each matches a plain value of at least minLen bytes.
	lenOnly []int
	// lenOnlyBySig holds, by a plain value's signature (groupsOf), the
	// slots of lenOnly whose pattern can match a string of those groups
	// (in lenOnly's order), made the first time a value has the
	// signature: a value's answer for them is then a walk of the list to
	// its length, without a reach look-up per rule.
	lenOnlyBySig [256]atomic.Pointer[[]lenOnlySlot]
	// byNeedle are the slots whose condition names each needle.
	byNeedle [][]int32
	// needleSets are, by needle, the ids of the required sets
	// (rxCondition.sets) it is a member of; nSets the number of ids. A
	// value's hits mark their sets once, and a condition checks a bit per
	// set instead of looking for a member of each.
	needleSets [][]int32
	nSets      int
	ac         *acMatcher
	slots      int
	// base64 are the slots of rules that decode base64 (base64filter.go),
	// answered for every value by the length of its base64 runs.
	base64 []base64Slot
	// decoded are the literals of the base64 rules' decodedConditions,
	// decodedAC their matcher.
	decoded   needleTable
	decodedAC *acMatcher
	// groups are the analyzer's rules by group (analyzerfilter.go), and
	// slotGroup their slots' groups.
	groups    [][]analyzerSlot
	slotGroup map[int]int
	scratch   sync.Pool // *classifyScratch
}

func newValueFilter() *valueFilter {
	return &valueFilter{}
}

// engineFilter is f as Coraza takes it.
func (f *valueFilter) engineFilter() *corazaexp.ValueFilter {
	return &corazaexp.ValueFilter{Plan: f.plan, Planned: f.planned, Classify: f.classify,
		GroupOf: f.groupOf, ClassifyGroup: f.classifyGroup, Remember: true}
}

// needle is the id of the lower-case literal s.
func (f *valueFilter) needle(s string) int32 { return f.literals.id(s) }

// A needleTable numbers the literals a matcher looks for: words by id.
type needleTable struct {
	ids   map[string]int32 // nil once matcher has built the matcher
	words []string
}

// id is s's id, given the first time s is asked for.
func (t *needleTable) id(s string) int32 {
	if id, ok := t.ids[s]; ok {
		return id
	}
	if t.ids == nil {
		t.ids = map[string]int32{}
	}
	id := int32(len(t.words))
	t.ids[s] = id
	t.words = append(t.words, s)
	return id
}

// matcher builds the matcher of t's words and forgets the ids (planning
// is over).
func (t *needleTable) matcher() *acMatcher {
	t.ids = nil
	return newACMatcher(t.words)
}

// plan gives r a slot: one the filter answers for (planReasoned), or else
// one set for every value that Coraza's answer memory learns
// (planRemembered); -1 when neither applies.
func (f *valueFilter) plan(r corazaexp.ValueFilterRule) int {
	if slot := f.planReasoned(r); slot >= 0 {
		return slot
	}
	return f.planRemembered(r)
}

// planReasoned gives r a slot if it is an @rx rule whose transformations
// are safe and whose pattern needs something of a value (a length, a
// literal), an @pm-like rule, a base64 rule or an analyzer rule the filter
// can answer for; -1 otherwise.
func (f *valueFilter) planReasoned(r corazaexp.ValueFilterRule) int {
	if r.Operator == analyzerOperator {
		return f.planAnalyzer(r)
	}
	if r.Negated {
		return -1
	}
	if slices.Contains(r.Transformations, "base64Decode") {
		return f.planBase64(r)
	}
	for _, t := range r.Transformations {
		if !safeTransformations[t] {
			return -1
		}
	}
	if r.Operator != "rx" {
		return f.planPhrases(r)
	}
	if strings.Contains(r.Argument, "%{") {
		return -1
	}
	pattern := "(?s)" + r.Argument
	if matchesArbitraryBytes(pattern) {
		return f.planLatin1(r.Argument)
	}
	c, ok := f.rxCondition(pattern)
	if !ok {
		return -1
	}
	f.conds = append(f.conds, c)
	return len(f.conds) - 1
}

// valueOnlyOperators answer by the value they are given alone, once
// their argument has no macro: no transaction data, no side effect but
// captures on a match.
var valueOnlyOperators = map[string]bool{
	"rx": true, "pm": true, "pmf": true, "pmFromFile": true,
	"detectSQLi": true, "detectXSS": true,
	"validateByteRange": true, "validateUrlEncoding": true, "validateUtf8Encoding": true,
	"streq": true, "beginsWith": true, "endsWith": true, "contains": true,
	"within": true, "strmatch": true,
	"eq": true, "ge": true, "gt": true, "le": true, "lt": true,
}

// planRemembered gives a rule the filter cannot reason about a slot set
// for every value, when its operator answers by the value alone
// (negated or not, whatever its transformations; but not a negated one
// with capture, whose miss is a match of its operator that wrote
// TX:0-9, review 15): Coraza's answer memory
// (ValueFilter.Remember) then learns, for the values that come back in
// later requests (a browser's headers, a client's cookies), that the rule
// did not match them, and passes over it for them as it does for a rule
// the filter rules out.
func (f *valueFilter) planRemembered(r corazaexp.ValueFilterRule) int {
	if !valueOnlyOperators[r.Operator] || strings.Contains(r.Argument, "%{") || r.Negated && r.Capture {
		return -1
	}
	f.conds = append(f.conds, rxCondition{remembered: true})
	return len(f.conds) - 1
}

// rxCondition is what a plain value needs for pattern (Go syntax, flags
// included) to match it after safe transformations; false when nothing
// can be said (the rule runs on every value).
func (f *valueFilter) rxCondition(pattern string) (rxCondition, bool) {
	minLen, all, anyOf, ci, ok := corazaexp.RxLiterals(pattern)
	if !ok {
		return rxCondition{}, false
	}
	_ = ci // literals are looked for lower-cased in a lower-cased value either way
	c := rxCondition{minLen: minLen}
	impossible := false
	for _, lit := range all {
		if len(lit) < 2 || !isASCII(lit) {
			continue // a weaker condition: leave it out
		}
		lit = strings.ToLower(lit)
		if !allPlain(lit) {
			impossible = true // no plain value has it, in any form
			continue
		}
		c.all = append(c.all, f.needle(lit))
	}
	if anyOf != nil {
		usable := true
		for _, lit := range anyOf {
			if len(lit) < 2 || !isASCII(lit) {
				usable = false // the group says nothing we can check
			}
		}
		if usable {
			c.hasAny = true
			for _, lit := range anyOf {
				lit = strings.ToLower(lit)
				if allPlain(lit) {
					c.anyOf = append(c.anyOf, f.needle(lit))
				}
			}
			if len(c.anyOf) == 0 {
				impossible = true
			}
		}
	}
	if !impossible {
		possible, sets, ok := plainRequirements(pattern)
		if ok && !possible {
			impossible = true
		}
		for _, set := range sets {
			ids := make([]int32, len(set))
			for i, s := range set {
				ids[i] = f.needle(s)
			}
			c.sets = append(c.sets, ids)
		}
	}
	if !impossible {
		c.reach = newAlphabetReach(pattern)
		if c.reach != nil && !c.reach.canMatch(allGroups) {
			impossible = true // needs a byte no plain value has
		}
	}
	if impossible {
		c = rxCondition{minLen: -1} // never met
	} else if len(c.all) == 0 && !c.hasAny && len(c.sets) == 0 && minLen < 2 && c.reach == nil {
		return rxCondition{}, false // nothing to check: the rule runs on every value
	}
	return c, true
}

// planLatin1 plans a pattern matched as bytes (Latin-1, without flags:
// rx_re2.go). Coraza's literal analysis reasons in runes, so it is not
// used; the reach analysis is: a plain value and its transformed forms
// are ASCII, and an ASCII byte is the rune of the same number in both
// readings of the pattern.
func (f *valueFilter) planLatin1(pattern string) int {
	reach := newAlphabetReach(pattern)
	if reach == nil {
		return -1
	}
	c := rxCondition{reach: reach}
	if !reach.canMatch(allGroups) {
		c = rxCondition{minLen: -1}
	}
	f.conds = append(f.conds, c)
	return len(f.conds) - 1
}

// planPhrases gives a slot to a rule whose operator matches when one of
// its phrases occurs in the value (@pm, @pmFromFile: Coraza's own list,
// the file read as the operator read it). A plain value's transformed
// forms, lower-cased, are parts of the value lower-cased with or without
// its spaces; a phrase (lower-cased, compared without case) can only
// occur in them if it occurs in one of those two strings, so the rule
// may match exactly when the pass finds one of its phrases there.
// Phrases with a byte no lower-cased plain value has cannot occur.
func (f *valueFilter) planPhrases(r corazaexp.ValueFilterRule) int {
	op := r.Op
	if m, ok := op.(*memoOp); ok {
		op = m.inner // memo_op.go: the same answers, remembered
	}
	p, ok := op.(corazaexp.PhraseOperator)
	if !ok {
		return -1
	}
	phrases := p.Phrases()
	if len(phrases) == 0 {
		return -1 // no phrase: leave the rule to the operator
	}
	c := rxCondition{hasAny: true}
	for _, ph := range phrases {
		if ph == "" {
			return -1 // an empty phrase is in every value
		}
		if allPlain(ph) {
			c.anyOf = append(c.anyOf, f.needle(ph))
		}
	}
	if len(c.anyOf) == 0 {
		c = rxCondition{minLen: -1} // no plain value holds a phrase
	}
	f.conds = append(f.conds, c)
	return len(f.conds) - 1
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// allPlain reports whether a lower-case literal is made only of bytes a
// lower-cased plain value can hold.
func allPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !plainByte[c] || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// planned builds the matcher once every rule has its slot.
func (f *valueFilter) planned() int {
	f.slots = len(f.conds)
	f.byNeedle = make([][]int32, len(f.literals.words))
	f.needleSets = make([][]int32, len(f.literals.words))
	setID := map[string]int32{}
	for slot := range f.conds {
		c := &f.conds[slot]
		c.setIDs = nil
		for _, set := range c.sets {
			key := fmt.Sprint(set)
			id, ok := setID[key]
			if !ok {
				id = int32(len(setID))
				setID[key] = id
				for _, n := range set {
					f.needleSets[n] = appendOnce(f.needleSets[n], id)
				}
			}
			c.setIDs = append(c.setIDs, id)
		}
	}
	f.nSets = len(setID)
	for slot, c := range f.conds {
		switch {
		case c.minLen < 0:
		case len(c.all) == 0 && !c.hasAny && len(c.sets) == 0:
			f.lenOnly = append(f.lenOnly, slot)
		default:
			for _, n := range c.all {
				f.byNeedle[n] = appendOnce(f.byNeedle[n], int32(slot))
			}
			for _, set := range c.sets {
				for _, n := range set {
					f.byNeedle[n] = appendOnce(f.byNeedle[n], int32(slot))
				}
			}
			for _, n := range c.anyOf {
				f.byNeedle[n] = appendOnce(f.byNeedle[n], int32(slot))
			}
		}
	}
	// lenOnly by minLen, shortest first.
	for i := 1; i < len(f.lenOnly); i++ {
		for j := i; j > 0 && f.conds[f.lenOnly[j]].minLen < f.conds[f.lenOnly[j-1]].minLen; j-- {
			f.lenOnly[j], f.lenOnly[j-1] = f.lenOnly[j-1], f.lenOnly[j]
		}
	}
	f.ac = f.literals.matcher()
	f.decodedAC = f.decoded.matcher()
	return f.slots
}

func appendOnce(s []int32, v int32) []int32 {
	if len(s) > 0 && s[len(s)-1] == v {
		return s
	}
	return append(s, v)
}

// lenOnlySlot is a slot of lenOnly and its pattern's minLen.
type lenOnlySlot struct {
	slot   int
	minLen int
}

// lenOnlyFor returns the slots of lenOnly that a plain value of
// signature sig may match if long enough, by minLen.
func (f *valueFilter) lenOnlyFor(sig uint8) []lenOnlySlot {
	if l := f.lenOnlyBySig[sig].Load(); l != nil {
		return *l
	}
	l := []lenOnlySlot{}
	for _, slot := range f.lenOnly {
		if c := &f.conds[slot]; c.reach == nil || c.reach.canMatch(sig) {
			l = append(l, lenOnlySlot{slot: slot, minLen: c.minLen})
		}
	}
	f.lenOnlyBySig[sig].Store(&l)
	return l
}

type classifyScratch struct {
	hit    []uint64 // needles seen, by id
	hits   []int32
	setHit []uint64 // required sets with a member seen, by set id
	done   []uint64 // slots decided, by slot
	// decoded is a plain value's squeezed decoded text, decodedHit and
	// decodedHits the decoded matcher's needles found in it, by whether
	// spaces were removed before decoding (classifyBase64).
	decoded     []byte
	decodedHit  [2][]uint64
	decodedHits [2][]int32
	// forms, formsHit and formsHits are formsMeet's text and needles.
	forms     []byte
	formsHit  []uint64
	formsHits []int32
}

// classify sets the slot of every rule that may match v.
func (f *valueFilter) classify(v string, mayMatch []uint64) {
	if !plainValue(v) {
		for i := range mayMatch {
			mayMatch[i] = ^uint64(0)
		}
		f.classifyBase64(v, false, mayMatch, nil)
		return
	}
	sig := groupsOf(v)
	for _, s := range f.lenOnlyFor(sig) {
		if s.minLen > len(v) {
			break
		}
		mayMatch[s.slot>>6] |= 1 << (s.slot & 63)
	}
	sc, _ := f.scratch.Get().(*classifyScratch)
	if sc == nil {
		sc = &classifyScratch{
			hit:    make([]uint64, (len(f.literals.words)+63)/64),
			setHit: make([]uint64, (f.nSets+63)/64),
			done:   make([]uint64, len(mayMatch)),
		}
		for k := range sc.decodedHit {
			sc.decodedHit[k] = make([]uint64, (len(f.decoded.words)+63)/64)
		}
		sc.formsHit = make([]uint64, (len(f.decoded.words)+63)/64)
	}
	sc.hits = f.ac.findPlain(v, sc.hit, sc.hits[:0])
	for _, n := range sc.hits {
		for _, id := range f.needleSets[n] {
			sc.setHit[id>>6] |= 1 << (id & 63)
		}
	}
	for _, n := range sc.hits {
		for _, slot := range f.byNeedle[n] {
			if sc.done[slot>>6]&(1<<(slot&63)) != 0 {
				continue
			}
			sc.done[slot>>6] |= 1 << (slot & 63)
			if c := &f.conds[slot]; c.metBy(len(v), sc.hit, sc.setHit) && (c.reach == nil || c.reach.canMatch(sig)) {
				mayMatch[slot>>6] |= 1 << (slot & 63)
			}
		}
	}
	f.classifyBase64(v, true, mayMatch, sc)
	// Leave the scratch clean for the next value.
	for _, n := range sc.hits {
		sc.hit[n>>6] = 0
		for _, slot := range f.byNeedle[n] {
			sc.done[slot>>6] = 0
		}
		for _, id := range f.needleSets[n] {
			sc.setHit[id>>6] = 0
		}
	}
	if cap(sc.decoded) <= 4096 {
		f.scratch.Put(sc)
	}
}

// metBy reports whether a value of n bytes whose lower-cased forms hold
// the needles of hit (and a member of the sets of setHit) meets c.
func (c *rxCondition) metBy(n int, hit, setHit []uint64) bool {
	if n < c.minLen {
		return false
	}
	for _, id := range c.setIDs {
		if setHit[id>>6]&(1<<(id&63)) == 0 {
			return false
		}
	}
	return literalsHit(c.all, c.anyOf, c.hasAny, hit)
}

// literalsHit reports whether hit holds every needle of all and, when
// hasAny, one of anyOf.
func literalsHit(all, anyOf []int32, hasAny bool, hit []uint64) bool {
	for _, id := range all {
		if hit[id>>6]&(1<<(id&63)) == 0 {
			return false
		}
	}
	if !hasAny {
		return true
	}
	for _, id := range anyOf {
		if hit[id>>6]&(1<<(id&63)) != 0 {
			return true
		}
	}
	return false
}

// acMatcher is an Aho-Corasick automaton over the bytes of lower-cased
// plain values, as a dense table: one look-up per byte of input, and
// every needle ending at a position reported (overlapping ones too).
//
// The table is laid out for the cache: states are numbered breadth first
// (the shallow states, where most bytes of a value leave the automaton,
// are the first rows, together), and an entry is the next state's row
// offset (state*cols), its top bit set when needles end at that state, so
// a byte costs one load and no look-up of the outputs when none end there.
type acMatcher struct {
	class  [256]uint8 // byte -> column; 0: a byte no needle has (back to the root)
	cols   int
	next   []uint32  // state*cols + column -> next state*cols | acOutput
	output [][]int32 // by state: needles ending there (its own and its suffixes')
}

// acOutput marks an entry of acMatcher.next whose state has outputs.
const acOutput = 1 << 31

func newACMatcher(needles []string) *acMatcher {
	m := &acMatcher{}
	m.cols = 1
	for _, n := range needles {
		for i := 0; i < len(n); i++ {
			if m.class[n[i]] == 0 {
				m.class[n[i]] = uint8(m.cols)
				m.cols++
			}
		}
	}
	// The trie.
	next := make([]int32, m.cols) // state 0, the root
	output := [][]int32{nil}
	for id, n := range needles {
		s := int32(0)
		for i := 0; i < len(n); i++ {
			col := int32(m.class[n[i]])
			t := next[s*int32(m.cols)+col]
			if t == 0 {
				t = int32(len(output))
				output = append(output, nil)
				next = append(next, make([]int32, m.cols)...)
				next[s*int32(m.cols)+col] = t
			}
			s = t
		}
		output[s] = append(output[s], int32(id))
	}
	// Failure links, breadth first, folded into the table; order is the
	// trie's states breadth first.
	fail := make([]int32, len(output))
	order := []int32{0}
	for col := 1; col < m.cols; col++ {
		if t := next[col]; t != 0 {
			order = append(order, t)
		}
	}
	for q := 1; q < len(order); q++ {
		s := order[q]
		output[s] = append(output[s], output[fail[s]]...)
		for col := 1; col < m.cols; col++ {
			t := next[s*int32(m.cols)+int32(col)]
			f := next[fail[s]*int32(m.cols)+int32(col)]
			if t == 0 {
				next[s*int32(m.cols)+int32(col)] = f
				continue
			}
			fail[t] = f
			order = append(order, t)
		}
	}
	// Renumber the states in that order.
	rank := make([]uint32, len(order))
	for i, s := range order {
		rank[s] = uint32(i)
	}
	m.next = make([]uint32, len(next))
	m.output = make([][]int32, len(output))
	for i, s := range order {
		m.output[i] = output[s]
		for col := 0; col < m.cols; col++ {
			t := next[int(s)*m.cols+col]
			e := rank[t] * uint32(m.cols)
			if len(output[t]) > 0 {
				e |= acOutput
			}
			m.next[i*m.cols+col] = e
		}
	}
	return m
}

// find marks in hit (by needle id) every needle in text and appends the
// ones not marked before to hits.
func (m *acMatcher) find(text []byte, hit []uint64, hits []int32) []int32 {
	row := uint32(0)
	for _, c := range text {
		e := m.next[row+uint32(m.class[c])]
		row = e &^ acOutput
		if e&acOutput == 0 {
			continue
		}
		for _, id := range m.output[row/uint32(m.cols)] {
			if hit[id>>6]&(1<<(id&63)) == 0 {
				hit[id>>6] |= 1 << (id & 63)
				hits = append(hits, id)
			}
		}
	}
	return hits
}

// findPlain is find over the plain value v lower-cased and, if it has
// spaces, over v lower-cased without its spaces, in one pass: the second
// walk of the automaton starts at v's first space (before it, both read
// the same bytes) and skips the spaces.
func (m *acMatcher) findPlain(v string, hit []uint64, hits []int32) []int32 {
	row, row2 := uint32(0), uint32(0)
	spaces := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		col := uint32(m.class[c])
		e := m.next[row+col]
		if e&acOutput != 0 {
			hits = m.mark(e&^acOutput, hit, hits)
		}
		if c == ' ' {
			if !spaces {
				spaces, row2 = true, row
			}
			row = e &^ acOutput
			continue
		}
		row = e &^ acOutput
		if spaces {
			e2 := m.next[row2+col]
			row2 = e2 &^ acOutput
			if e2&acOutput != 0 {
				hits = m.mark(row2, hit, hits)
			}
		}
	}
	return hits
}

// mark marks the needles ending at the state whose row is row, as find.
func (m *acMatcher) mark(row uint32, hit []uint64, hits []int32) []int32 {
	for _, id := range m.output[row/uint32(m.cols)] {
		if hit[id>>6]&(1<<(id&63)) == 0 {
			hit[id>>6] |= 1 << (id & 63)
			hits = append(hits, id)
		}
	}
	return hits
}

// useValueFilter plans waf's rules with a new value filter (a WAF that
// does not take one is left as it is).
func useValueFilter(waf coraza.WAF) {
	if w, ok := waf.(corazaexp.WAFWithValueFilter); ok {
		w.SetValueFilter(newValueFilter().engineFilter())
	}
}
