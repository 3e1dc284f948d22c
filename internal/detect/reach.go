package detect

import (
	"regexp/syntax"
	"sync/atomic"
)

// Plain values (valuefilter.go) are made of a few kinds of bytes; a
// pattern that needs a byte of another kind ('<', a quote, '(') can match
// no plain value, and one that needs a digit cannot match a value
// without one. alphabetReach answers this from the pattern's compiled
// program: whether a match can be reached when only the bytes of some
// groups are available (empty-width assertions taken as met, so it can
// only say yes too often, never no too often).

// plainGroup numbers the groups of plain bytes, from 0: letters, digits,
// and each punctuation byte plain values may hold.
var plainGroup = func() (g [256]int8) {
	for i := range g {
		g[i] = -1
	}
	for c := 'a'; c <= 'z'; c++ {
		g[c], g[c-'a'+'A'] = 0, 0
	}
	for c := '0'; c <= '9'; c++ {
		g[c] = 1
	}
	for i, c := range " ._@:-" {
		g[c] = int8(2 + i)
	}
	return g
}()

// allGroups is the signature of every group.
const allGroups = 1<<8 - 1

// groupsOf is the signature of a plain value: a bit for each group its
// bytes fall in.
func groupsOf(v string) uint8 {
	var sig uint8
	for i := 0; i < len(v); i++ {
		if g := plainGroup[v[i]]; g >= 0 {
			sig |= 1 << g
		}
	}
	return sig
}

type reachInst struct {
	op     syntax.InstOp
	out    uint32
	arg    uint32
	groups uint8 // the groups a rune instruction accepts a byte of
}

type alphabetReach struct {
	insts []reachInst
	start int
	// known holds each signature's answer once worked out: 0 not yet,
	// 1 no, 2 yes.
	known [256]atomic.Uint32
}

// newAlphabetReach compiles pattern (Go syntax); nil if it does not.
func newAlphabetReach(pattern string) *alphabetReach {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil
	}
	a := &alphabetReach{start: prog.Start, insts: make([]reachInst, len(prog.Inst))}
	for i := range prog.Inst {
		in := &prog.Inst[i]
		ri := reachInst{op: in.Op, out: in.Out, arg: in.Arg}
		switch in.Op {
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			for c := 0; c < 128; c++ {
				if g := plainGroup[c]; g >= 0 && ri.groups&(1<<g) == 0 && in.MatchRune(rune(c)) {
					ri.groups |= 1 << g
				}
			}
		}
		a.insts[i] = ri
	}
	return a
}

// canMatch reports whether some string of bytes of the groups of sig
// (and of their lower- or upper-case forms) can be matched.
func (a *alphabetReach) canMatch(sig uint8) bool {
	switch a.known[sig].Load() {
	case 1:
		return false
	case 2:
		return true
	}
	ok := a.search(sig)
	v := uint32(1)
	if ok {
		v = 2
	}
	a.known[sig].Store(v)
	return ok
}

func (a *alphabetReach) search(sig uint8) bool {
	seen := make([]bool, len(a.insts))
	stack := []uint32{uint32(a.start)}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[i] {
			continue
		}
		seen[i] = true
		in := &a.insts[i]
		switch in.op {
		case syntax.InstMatch:
			return true
		case syntax.InstFail:
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.out, in.arg)
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			if in.groups&sig != 0 {
				stack = append(stack, in.out)
			}
		default: // InstCapture, InstEmptyWidth, InstNop
			stack = append(stack, in.out)
		}
	}
	return false
}
