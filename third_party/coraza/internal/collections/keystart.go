// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package collections

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// keyStart is what a key must start with to match a regex anchored at the
// start of the text (^...): the bytes every match can begin with. Parapet's
// analyzer reads ARGS:/(?i)^(?:next|return_?to|...)$/, whose regex has no
// literal prefix, and ran it over each of a 10 KB JSON body's ~500 keys
// ("json.items.12.note"): 3% of the request. A key whose first byte is not
// in the set is not matched, exactly.
type keyStart struct {
	set   [4]uint64 // bit b: a match can begin with byte b
	known bool      // false: any key may match (unanchored, or not analysed)
}

// allows reports whether key may match (a false is exact). A key holding
// a newline is always allowed: the analysis reads ^ as the start of the
// text, as regexp.Compile does (Coraza compiles its key regexes so); a
// regex from regexp.CompilePOSIX reads it as the start of a line, the one
// difference between the two parses that bears on where a match starts.
func (s *keyStart) allows(key string) bool {
	if !s.known || key != "" && s.set[key[0]>>6]&(1<<(key[0]&63)) != 0 {
		return true
	}
	return strings.IndexByte(key, '\n') >= 0
}

func (s *keyStart) add(b byte) { s.set[b>>6] |= 1 << (b & 63) }

// addRune adds the first byte of r's UTF-8 form; every byte from 0x80 for
// r >= 0x80 (invalid UTF-8 reads as utf8.RuneError, and a superset is
// exact for skipping).
func (s *keyStart) addRune(r rune) {
	if r < utf8.RuneSelf {
		s.add(byte(r))
		return
	}
	for b := 0x80; b <= 0xff; b++ {
		s.add(byte(b))
	}
}

// addFolds adds r and, under case folding, every rune that folds to it.
func (s *keyStart) addFolds(r rune, flags syntax.Flags) {
	s.addRune(r)
	if flags&syntax.FoldCase != 0 {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			s.addRune(f)
		}
	}
}

func (s *keyStart) union(o *keyStart) {
	for i := range s.set {
		s.set[i] |= o.set[i]
	}
}

// newKeyStart analyses re (parsed again, as regexp.Compile does, with
// syntax.Perl): known when every match starts at the start of the text
// (^, not (?m)^) and cannot be empty.
func newKeyStart(re *regexp.Regexp) keyStart {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil || !anchoredAtStart(tree) {
		return keyStart{}
	}
	s, nullable, ok := firstBytes(tree)
	if !ok || nullable {
		return keyStart{}
	}
	s.known = true
	return s
}

// anchoredAtStart reports whether every match of re begins with \A (^
// without the m flag).
func anchoredAtStart(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginText:
		return true
	case syntax.OpConcat:
		return len(re.Sub) > 0 && anchoredAtStart(re.Sub[0])
	case syntax.OpCapture:
		return anchoredAtStart(re.Sub[0])
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !anchoredAtStart(sub) {
				return false
			}
		}
		return len(re.Sub) > 0
	}
	return false
}

// firstBytes is a superset of the bytes a match of re can begin with, and
// whether re can match the empty string; ok false for a node it does not
// know.
func firstBytes(re *syntax.Regexp) (s keyStart, nullable, ok bool) {
	switch re.Op {
	case syntax.OpNoMatch:
		return s, false, true
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return s, true, true
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return s, true, true
		}
		s.addFolds(re.Rune[0], re.Flags)
		return s, false, true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
				s.addFolds(r, re.Flags)
			}
			if hi >= utf8.RuneSelf {
				s.addRune(hi)
			}
		}
		return s, false, true
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		for i := range s.set {
			s.set[i] = ^uint64(0)
		}
		return s, false, true
	case syntax.OpCapture:
		return firstBytes(re.Sub[0])
	case syntax.OpStar, syntax.OpQuest:
		s, _, ok = firstBytes(re.Sub[0])
		return s, true, ok
	case syntax.OpPlus:
		return firstBytes(re.Sub[0])
	case syntax.OpRepeat:
		s, nullable, ok = firstBytes(re.Sub[0])
		return s, nullable || re.Min == 0, ok
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			f, n, ok := firstBytes(sub)
			if !ok {
				return s, false, false
			}
			s.union(&f)
			if !n {
				return s, false, true
			}
		}
		return s, true, true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			f, n, ok := firstBytes(sub)
			if !ok {
				return s, false, false
			}
			s.union(&f)
			nullable = nullable || n
		}
		return s, nullable, true
	}
	return s, false, false
}

// keyStartOf returns re's keyStart, analysed once per map (a rule set's
// key regexes are few and live as long as the WAF, and a pooled
// transaction's collections are used again by the next request).
func (c *Map) keyStartOf(re *regexp.Regexp) *keyStart {
	if s, ok := c.starts[re]; ok {
		return s
	}
	if c.starts == nil {
		c.starts = map[*regexp.Regexp]*keyStart{}
	}
	s := newKeyStart(re)
	c.starts[re] = &s
	return &s
}
