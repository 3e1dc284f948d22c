package detect

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
)

// Coraza's literal analysis (experimental.RxLiterals) gives the literals
// every match of a pattern holds and at most one group of which every
// match holds one, over any input. The value filter asks a narrower
// question: what must a match hold when it is made of the bytes of a
// lower-cased plain value (the only bytes a plain value's transformed
// forms have)? Restricted to those bytes, many branches of a pattern
// cannot match at all (a quote, '<', ';' or '(' in them), and what is
// left often needs several groups of literals at once: the Unix command
// rules' one-letter commands come with a path or a separator no plain
// value has, so what a plain value can match of them is a handful of
// words. plainRequirements works that out from the pattern's syntax
// tree: a list of sets of lower-case strings, every set of which must
// have a member in the match.

// restrictExactMax bounds the sets of exact strings a node can match
// (past it, the strings become a requirement instead).
const (
	restrictExactMax = 64
	restrictClassMax = 4
	restrictLenMax   = 40
)

// litInfo is what the analysis knows of a node restricted to plain bytes.
type litInfo struct {
	// impossible: the node matches no string of plain bytes.
	impossible bool
	// exact, when exactOK, is every string the node can match
	// (lower-cased).
	exact   []string
	exactOK bool
	// req are sets of which every match holds a member.
	req [][]string
}

// plainRequirements returns, for pattern (Go syntax), whether it can
// match a string of lower-cased plain bytes at all, and sets of strings
// each of which has a member in every such match. ok is false when the
// pattern does not parse.
func plainRequirements(pattern string) (possible bool, sets [][]string, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return true, nil, false
	}
	info := restrictNode(re.Simplify())
	if info.impossible {
		return false, nil, true
	}
	all := info.req
	if s := exactSet(info); s != nil {
		all = append(all, s)
	}
	for _, s := range all {
		if s = usefulSet(s); s != nil {
			sets = append(sets, s)
		}
	}
	return true, sets, true
}

func restrictNode(re *syntax.Regexp) litInfo {
	switch re.Op {
	case syntax.OpNoMatch:
		return litInfo{impossible: true}
	case syntax.OpLiteral:
		var b strings.Builder
		for _, r := range re.Rune {
			c, ok := plainRune(r, re.Flags&syntax.FoldCase != 0)
			if !ok {
				return litInfo{impossible: true}
			}
			b.WriteByte(c)
		}
		return litInfo{exact: []string{b.String()}, exactOK: true}
	case syntax.OpCharClass:
		var set []string
		for c := 0; c < 128; c++ {
			if !plainByte[c] || !classHas(re.Rune, rune(c)) {
				continue
			}
			s := string(rune(unicode.ToLower(rune(c))))
			if !slices.Contains(set, s) {
				set = append(set, s)
			}
		}
		if len(set) == 0 {
			return litInfo{impossible: true}
		}
		if len(set) > restrictClassMax {
			return litInfo{}
		}
		return litInfo{exact: set, exactOK: true}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return litInfo{}
	case syntax.OpCapture:
		return restrictNode(re.Sub[0])
	case syntax.OpStar:
		return litInfo{exact: []string{""}, exactOK: restrictNode(re.Sub[0]).impossible}
	case syntax.OpQuest:
		sub := restrictNode(re.Sub[0])
		if sub.impossible {
			return litInfo{exact: []string{""}, exactOK: true}
		}
		if sub.exactOK && len(sub.exact) < restrictExactMax {
			return litInfo{exact: appendOnceString(slices.Clone(sub.exact), ""), exactOK: true}
		}
		return litInfo{}
	case syntax.OpPlus:
		return atLeastOnce(restrictNode(re.Sub[0]))
	case syntax.OpRepeat:
		sub := restrictNode(re.Sub[0])
		switch {
		case re.Min == 0 && sub.impossible:
			return litInfo{exact: []string{""}, exactOK: true}
		case re.Min == 0:
			return litInfo{}
		case re.Min == 1 && re.Max == 1:
			return sub
		}
		return atLeastOnce(sub)
	case syntax.OpConcat:
		acc := litInfo{exact: []string{""}, exactOK: true}
		for _, s := range re.Sub {
			acc = concatInfo(acc, restrictNode(s))
			if acc.impossible {
				return acc
			}
		}
		return acc
	case syntax.OpAlternate:
		return alternateInfo(re.Sub)
	default: // empty match and empty-width assertions (taken as met)
		return litInfo{exact: []string{""}, exactOK: true}
	}
}

// plainRune is the lower-case plain byte r can match (with its case
// folds when fold), if any.
func plainRune(r rune, fold bool) (byte, bool) {
	for f := r; ; {
		if f < 128 && plainByte[f] {
			return byte(unicode.ToLower(f)), true
		}
		if !fold {
			return 0, false
		}
		if f = unicode.SimpleFold(f); f == r {
			return 0, false
		}
	}
}

// classHas reports whether the ranges of a character class hold c.
func classHas(ranges []rune, c rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= c && c <= ranges[i+1] {
			return true
		}
	}
	return false
}

// atLeastOnce is the info of a node repeated at least once: what it
// requires, no exact strings.
func atLeastOnce(sub litInfo) litInfo {
	if sub.impossible {
		return sub
	}
	out := litInfo{req: sub.req}
	if s := exactSet(sub); s != nil {
		out.req = append(slices.Clip(out.req), s)
	}
	return out
}

// exactSet is the exact strings of a node as a requirement, or nil when
// they are not known or one is empty.
func exactSet(i litInfo) []string {
	if !i.exactOK || len(i.exact) == 0 {
		return nil
	}
	for _, s := range i.exact {
		if s == "" {
			return nil
		}
	}
	return i.exact
}

func concatInfo(a, b litInfo) litInfo {
	if a.impossible || b.impossible {
		return litInfo{impossible: true}
	}
	out := litInfo{req: append(slices.Clip(a.req), b.req...)}
	if a.exactOK && b.exactOK && len(a.exact)*len(b.exact) <= restrictExactMax {
		cross := make([]string, 0, len(a.exact)*len(b.exact))
		long := false
		for _, x := range a.exact {
			for _, y := range b.exact {
				cross = appendOnceString(cross, x+y)
				long = long || len(x)+len(y) > restrictLenMax
			}
		}
		if !long {
			out.exact, out.exactOK = cross, true
			return out
		}
		if s := exactSet(litInfo{exact: cross, exactOK: true}); s != nil {
			out.req = append(out.req, s)
		}
		return out
	}
	for _, i := range []litInfo{a, b} {
		if s := exactSet(i); s != nil {
			out.req = append(out.req, s)
		}
	}
	return out
}

func alternateInfo(subs []*syntax.Regexp) litInfo {
	var infos []litInfo
	for _, s := range subs {
		if i := restrictNode(s); !i.impossible {
			infos = append(infos, i)
		}
	}
	if len(infos) == 0 {
		return litInfo{impossible: true}
	}
	if len(infos) == 1 {
		return infos[0]
	}
	exact, n := true, 0
	for _, i := range infos {
		exact = exact && i.exactOK
		n += len(i.exact)
	}
	if exact && n <= restrictExactMax {
		var out []string
		for _, i := range infos {
			for _, s := range i.exact {
				out = appendOnceString(out, s)
			}
		}
		return litInfo{exact: out, exactOK: true}
	}
	// Every branch's best requirement, joined: a match holds one.
	var union []string
	for _, i := range infos {
		best := bestSet(i)
		if best == nil {
			return litInfo{}
		}
		for _, s := range best {
			union = appendOnceString(union, s)
		}
	}
	return litInfo{req: [][]string{union}}
}

// bestSet is the requirement of i whose shortest string is longest.
func bestSet(i litInfo) []string {
	var best []string
	bestLen := 0
	for _, s := range append(slices.Clip(i.req), exactSet(i)) {
		if s = usefulSet(s); s == nil {
			continue
		}
		m := len(s[0])
		for _, x := range s {
			m = min(m, len(x))
		}
		if m > bestLen || (m == bestLen && len(s) < len(best)) {
			best, bestLen = s, m
		}
	}
	return best
}

// usefulSet is s without the strings holding a shorter member (that one
// is enough), or nil when a member is too weak to look for: empty, or one
// letter or digit (in nearly every value) or a lone space.
func usefulSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	for _, x := range s {
		if x == "" || (len(x) == 1 && (x == " " || 'a' <= x[0] && x[0] <= 'z' || '0' <= x[0] && x[0] <= '9')) {
			return nil
		}
	}
	var out []string
	for _, x := range s {
		redundant := false
		for _, y := range s {
			if y != x && len(y) <= len(x) && strings.Contains(x, y) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = appendOnceString(out, x)
		}
	}
	return out
}

func appendOnceString(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
