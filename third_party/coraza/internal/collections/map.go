// Copyright 2023 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package collections

import (
	"regexp"
	"strings"

	"github.com/corazawaf/coraza/v3/collection"
	"github.com/corazawaf/coraza/v3/internal/corazarules"
	stringsutil "github.com/corazawaf/coraza/v3/internal/strings"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
)

// Map is a default collection.Map.
type Map struct {
	isCaseSensitive bool
	data            map[string][]keyValue
	variable        variables.RuleVariable
	// totalValues tracks TotalValues incrementally so it stays O(1) to read;
	// summing len(values) across every key on each call made checkArgumentLimit
	// (called once per Add) quadratic in the number of distinct keys.
	totalValues int
	// changes counts the changes to data (Add, Set, SetIndex, Remove,
	// Reset): FindAll reuses the matches it built while it stays the same.
	changes uint64
	all     matchesCache
	keys    keyMatchesCache
	// rxKeys holds FindRegex's matches by pattern, as keys does
	// FindString's (nil until FindRegex is first called): Parapet's
	// analyzer reads REQUEST_HEADERS:/^x-/ in seven rules a request.
	rxKeys *keyMatchesCache
	// spare holds the small value slices of the keys Reset removed, for
	// new keys to reuse (newValues): a transaction's TX collection, its
	// headers and arguments are filled with new keys on every request.
	spare [][]keyValue
	// starts holds the key regexes' first bytes (keystart.go).
	starts map[*regexp.Regexp]*keyStart
}

// Bounds of Map.spare: how many slices it keeps, and of what capacity at
// most (a larger one is left to the garbage collector).
const (
	spareSlices = 1024
	spareCap    = 8
)

// newValues returns an empty slice for a new key's values, a spare one
// when Reset left one.
func (c *Map) newValues() []keyValue {
	if n := len(c.spare); n > 0 {
		v := c.spare[n-1]
		c.spare[n-1] = nil
		c.spare = c.spare[:n-1]
		return v
	}
	return nil
}

// keyMatchesCacheSize is how many keys' matches a Map keeps.
const keyMatchesCacheSize = 8

// keyMatchesCache holds the matches FindString built for the last few
// keys, and the change count they were built at: the CRS's paranoia-level
// gates read TX:DETECTION_PARANOIA_LEVEL dozens of times a request, and
// nothing changes the TX collection between most of them. Like
// matchesCache's, the slices and MatchData values are shared and never
// modified.
type keyMatchesCache struct {
	keys    [keyMatchesCacheSize]string
	at      [keyMatchesCacheSize]uint64
	matches [keyMatchesCacheSize][]types.MatchData
	valid   [keyMatchesCacheSize]bool
	next    int // the entry replaced next
}

// find returns the matches of key (lower-cased where the map is case
// insensitive) built at count, building (and keeping) them with build if
// the cached ones are older or missing.
func (m *keyMatchesCache) find(key string, count uint64, build func(string) []types.MatchData) []types.MatchData {
	for i := range m.keys {
		if m.valid[i] && m.at[i] == count && m.keys[i] == key {
			return m.matches[i]
		}
	}
	matches := build(key)
	i := m.next
	m.next = (m.next + 1) % keyMatchesCacheSize
	m.keys[i], m.at[i], m.matches[i], m.valid[i] = key, count, matches, true
	return matches
}

// matchesCache holds the matches a collection built, and the change count
// they were built at. Every rule that reads a whole collection (ARGS,
// REQUEST_HEADERS, REQUEST_COOKIES...) calls FindAll, and a CRS transaction
// evaluates hundreds of them over collections that do not change during a
// phase. The slice and the MatchData values are shared between the calls
// and never modified.
type matchesCache struct {
	valid   bool
	at      uint64
	matches []types.MatchData
	// Parapet (recycle.go): buf is the memory of matches' values when the
	// build took it (take), taken the last build's; spareBuf and spareRes
	// are a finished transaction's, for the next build.
	buf, taken []corazarules.MatchData
	spareBuf   []corazarules.MatchData
	spareRes   []types.MatchData
}

// find returns the matches built at count, building (and keeping) them
// with build if the cached ones are older. The slice is shared by every
// caller until the collection changes: callers must not write to it (its
// capacity is its length, so an append copies).
func (m *matchesCache) find(count uint64, build func() []types.MatchData) []types.MatchData {
	if !m.valid || m.at != count {
		m.taken = nil
		m.valid, m.at, m.matches = true, count, build()
		m.buf, m.taken = m.taken, nil
	}
	if len(m.matches) == 0 {
		return nil
	}
	return m.matches[:len(m.matches):len(m.matches)]
}

// changeCount is the number of changes made to the map so far.
func (c *Map) changeCount() uint64 { return c.changes }

var _ collection.Map = &Map{}

// NewMap creates a new Map. By default, the Map key is case insensitive.
func NewMap(variable variables.RuleVariable) *Map {
	return &Map{
		isCaseSensitive: false,
		variable:        variable,
		data:            map[string][]keyValue{},
	}
}

// NewCaseSensitiveKeyMap creates a new Map with case sensitive keys.
func NewCaseSensitiveKeyMap(variable variables.RuleVariable) *Map {
	return &Map{
		isCaseSensitive: true,
		variable:        variable,
		data:            map[string][]keyValue{},
	}
}

func (c *Map) Get(key string) []string {
	if len(c.data) == 0 {
		return nil
	}
	if !c.isCaseSensitive {
		key = stringsutil.ToLower(key)
	}
	values := c.data[key]
	if len(values) == 0 {
		return nil
	}
	result := make([]string, len(values))
	for i, v := range values {
		result[i] = v.value
	}
	return result
}

// FindRegex returns all map elements whose key matches the regular expression.
func (c *Map) FindRegex(key *regexp.Regexp) []types.MatchData {
	if c.rxKeys == nil {
		c.rxKeys = &keyMatchesCache{}
	}
	// Regexes with the same source match the same keys.
	return c.rxKeys.find(key.String(), c.changes, func(string) []types.MatchData { return c.findRegex(key) })
}

// findRegex builds FindRegex's matches of key. The slice's capacity is its
// length: an append by a caller copies.
func (c *Map) findRegex(key *regexp.Regexp) []types.MatchData {
	n := 0
	// Collect matching data slices in a single pass to avoid evaluating the regex twice per key.
	var matched [][]keyValue
	prefix, _ := key.LiteralPrefix()
	start := c.keyStartOf(key)
	for k, data := range c.data {
		if keyMatches(key, prefix, start, k) {
			n += len(data)
			matched = append(matched, data)
		}
	}
	if n == 0 {
		return nil
	}
	buf := make([]corazarules.MatchData, n)
	result := make([]types.MatchData, n)
	i := 0
	for _, data := range matched {
		for _, d := range data {
			buf[i] = corazarules.MatchData{
				Variable_: c.variable,
				Key_:      d.key,
				Value_:    d.value,
			}
			result[i] = &buf[i]
			i++
		}
	}
	return result
}

// FindString returns all map elements whose key matches the string.
func (c *Map) FindString(key string) []types.MatchData {
	if key == "" {
		return c.FindAll()
	}
	if len(c.data) == 0 {
		return nil
	}
	if !c.isCaseSensitive {
		key = stringsutil.ToLower(key)
	}
	return c.keys.find(key, c.changes, c.findString)
}

// findString builds the matches of key (lower-cased where the map is case
// insensitive). The slice's capacity is its length: an append by a caller
// copies.
func (c *Map) findString(key string) []types.MatchData {
	e, ok := c.data[key]
	if !ok || len(e) == 0 {
		return nil
	}
	if len(e) == 1 {
		// One value, the common case: one allocation instead of two, kept
		// with the value for the next read.
		if e[0].one == nil {
			one := &oneMatch{match: corazarules.MatchData{Variable_: c.variable, Key_: e[0].key, Value_: e[0].value}}
			one.list[0] = &one.match
			e[0].one = one
		}
		return e[0].one.list[:]
	}
	buf := make([]corazarules.MatchData, len(e))
	result := make([]types.MatchData, len(e))
	for i, aVar := range e {
		buf[i] = corazarules.MatchData{
			Variable_: c.variable,
			Key_:      aVar.key,
			Value_:    aVar.value,
		}
		result[i] = &buf[i]
	}
	return result
}

// FindAll returns all map elements.
func (c *Map) FindAll() []types.MatchData {
	return c.all.find(c.changes, c.findAll)
}

func (c *Map) findAll() []types.MatchData {
	n := 0
	for _, data := range c.data {
		n += len(data)
	}
	if n == 0 {
		return nil
	}
	buf, result := c.all.take(n)
	i := 0
	for _, data := range c.data {
		for _, d := range data {
			buf[i] = corazarules.MatchData{
				Variable_: c.variable,
				Key_:      d.key,
				Value_:    d.value,
			}
			result[i] = &buf[i]
			i++
		}
	}
	return result
}

// Add adds a new key-value pair to the map.
func (c *Map) Add(key string, value string) {
	c.changes++
	aVal := keyValue{key: key, value: value}
	if !c.isCaseSensitive {
		key = stringsutil.ToLower(key)
	}
	values, ok := c.data[key]
	if !ok {
		values = c.newValues()
	}
	c.data[key] = append(values, aVal)
	c.totalValues++
}

// Sets the value of a key with the array of strings passed. If the key already exists, it will be overwritten.
func (c *Map) Set(key string, values []string) {
	c.changes++
	originalKey := key
	if !c.isCaseSensitive {
		key = stringsutil.ToLower(key)
	}
	dataSlice, exists := c.data[key]
	oldLen := len(dataSlice)
	if !exists {
		dataSlice = c.newValues()
	}
	if cap(dataSlice) < len(values) {
		dataSlice = make([]keyValue, len(values))
	} else {
		dataSlice = dataSlice[:len(values)] // Reuse existing slice with the same length
	}
	for i, v := range values {
		dataSlice[i] = keyValue{key: originalKey, value: v}
	}
	c.data[key] = dataSlice
	c.totalValues += len(values) - oldLen
}

// FirstValues remembers where a Map holds the first value of each of a
// few keys, so that SetFirst can overwrite them without map lookups. A
// transaction sets the RULE collection's id, msg, rev, logdata and
// severity before evaluating each rule, hundreds of times per phase.
type FirstValues struct {
	keys  []string // lower case
	slots [][]keyValue
	at    uint64 // the Map's change count the slots were valid at
	valid bool
}

// NewFirstValues is a FirstValues for keys (in lower case).
func NewFirstValues(keys ...string) *FirstValues {
	return &FirstValues{keys: keys, slots: make([][]keyValue, len(keys))}
}

// SetFirst does what SetIndex(f's key i, 0, value) does. While nothing
// but SetFirst with f changed the map, it writes the value where the map
// holds it; after any other change it looks the keys up again first.
func (c *Map) SetFirst(f *FirstValues, i int, value string) {
	if !f.valid || f.at != c.changes {
		for j, k := range f.keys {
			f.slots[j] = c.data[k]
		}
		f.valid = true
	}
	if len(f.slots[i]) == 0 {
		c.SetIndex(f.keys[i], 0, value)
		f.slots[i] = c.data[f.keys[i]]
	} else {
		f.slots[i][0] = keyValue{key: f.keys[i], value: value}
		c.changes++
	}
	f.at = c.changes
}

// SetIndex sets the value of a key at the specified index. If the key already exists, it will be overwritten.
func (c *Map) SetIndex(key string, index int, value string) {
	c.changes++
	originalKey := key
	if !c.isCaseSensitive {
		key = stringsutil.ToLower(key)
	}
	values := c.data[key]
	av := keyValue{key: originalKey, value: value}

	switch {
	case len(values) == 0:
		c.data[key] = []keyValue{av}
		c.totalValues++
	case len(values) <= index:
		c.data[key] = append(c.data[key], av)
		c.totalValues++
	default:
		c.data[key][index] = av
	}
}

// Remove removes a key/value from the map.
func (c *Map) Remove(key string) {
	c.changes++
	if !c.isCaseSensitive {
		key = stringsutil.ToLower(key)
	}
	if len(c.data) == 0 {
		return
	}
	c.totalValues -= len(c.data[key])
	delete(c.data, key)
}

// Name returns the name of the map/collection.
func (c *Map) Name() string {
	return c.variable.Name()
}

// Reset removes all key/value pairs from the map.
func (c *Map) Reset() {
	c.changes++
	for _, v := range c.data {
		// Nothing outside the map holds its slices (matches copy the
		// strings; FirstValues looks its slots up again after a change).
		if cap(v) > 0 && cap(v) <= spareCap && len(c.spare) < spareSlices {
			clear(v)
			c.spare = append(c.spare, v[:0])
		}
	}
	// One clear rather than a delete (a hash and a probe) per key.
	clear(c.data)
	c.totalValues = 0
}

// FirstValue returns the first value of key, as Get(key)[0] without
// building Get's slice; ok is false when Get would return none.
func (c *Map) FirstValue(key string) (value string, ok bool) {
	if len(c.data) == 0 {
		return "", false
	}
	if !c.isCaseSensitive {
		key = stringsutil.ToLower(key)
	}
	values := c.data[key]
	if len(values) == 0 {
		return "", false
	}
	return values[0].value, true
}

// SetOne does what Set(key, []string{value}) does, without the slice,
// and writes a key holding one value in place.
func (c *Map) SetOne(key, value string) {
	c.changes++
	originalKey := key
	if !c.isCaseSensitive {
		key = stringsutil.ToLower(key)
	}
	values, exists := c.data[key]
	if exists && len(values) == 1 {
		values[0] = keyValue{key: originalKey, value: value}
		return
	}
	if !exists {
		values = c.newValues()
	}
	c.totalValues += 1 - len(values)
	c.data[key] = append(values[:0], keyValue{key: originalKey, value: value})
}

// Format updates the passed strings.Builder with the formatted map key/values.
func (c *Map) Format(res *strings.Builder) {
	res.WriteString(c.variable.Name())
	res.WriteString(":\n")
	for k, v := range c.data {
		res.WriteString("    ")
		res.WriteString(k)
		res.WriteString(": ")
		for i, vv := range v {
			if i > 0 {
				res.WriteString(",")
			}
			res.WriteString(vv.value)
		}
		res.WriteByte('\n')
	}
}

// String returns a string representation of the map key/values.
func (c *Map) String() string {
	res := strings.Builder{}
	c.Format(&res)
	return res.String()
}

// Len returns the number of distinct keys in the map. A key holding several
// values (via repeated Add calls) is counted once -- use TotalValues to count
// every individual value instead.
func (c *Map) Len() int {
	return len(c.data)
}

// TotalValues returns the total number of individual values across every key
// in the map, unlike Len which only counts distinct keys. O(1): the count is
// maintained incrementally by Add/Set/SetIndex/Remove/Reset rather than
// recomputed here, since checkArgumentLimit calls this once per value added
// and a per-call walk over every distinct key made that quadratic.
func (c *Map) TotalValues() int {
	return c.totalValues
}

// keyValue stores the case preserved original key and value
// of the variable
type keyValue struct {
	key   string
	value string
	// one, once built, is the key's match as findString returns it when
	// the key holds this one value. Every write replaces the whole
	// keyValue, so it never outlives the value it was built from (the TX
	// collection changes between most reads of a key: the change-count
	// cache of keyMatchesCache alone rebuilt the match for each).
	one *oneMatch
}

// oneMatch is a one-value match and the list holding it, in one
// allocation.
type oneMatch struct {
	match corazarules.MatchData
	list  [1]types.MatchData
}

// keyMatches reports whether key matches re, whose literal prefix (see
// regexp.Regexp.LiteralPrefix) is prefix. Every match of re begins with
// prefix, so a key without it cannot match: CRS's TX:/^header_name_920450_/
// and the like skip the regex for nearly every key of a large collection.
// Likewise a key start does not allow (keystart.go).
func keyMatches(re *regexp.Regexp, prefix string, start *keyStart, key string) bool {
	if prefix != "" && !strings.Contains(key, prefix) {
		return false
	}
	if !start.allows(key) {
		return false
	}
	return re.MatchString(key)
}
