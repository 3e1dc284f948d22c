package analyze

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Prose reports whether s reads as natural language: words separated by
// spaces, letters making most of what is not space, whatever
// punctuation, apostrophes and inline markup come with them, and few of
// the joints code is made of (a name glued to "(", "{", "=" or ".name")
// and of its symbols (; { } [ ] = | & $ \ * ^ ~: at most one in ten;
// Markdown's backticks are prose's), in words of natural length.
// Prose is what people type into comment boxes, search fields and
// articles; an attack is mostly syntax ("1' OR '1'='1",
// "<svg/onload=alert(1)>"), and one written as words ("1 union select
// password from users") still has to parse as a break-out to be judged
// one.
func Prose(s string) bool { return looksLikeProse(s) }

// looksLikeProse judges s, its markup aside (rich text is read for the
// text between its tags).
func looksLikeProse(s string) bool {
	if strings.IndexByte(s, '<') >= 0 {
		if text, ok := stripTags(s); ok {
			return proseWords(text)
		}
	}
	return proseWords(s)
}

// stripTags returns s without its tags (<p>, </a>, <img ...>, <!-- -->),
// each replaced by a space; ok false when there is none.
func stripTags(s string) (string, bool) {
	var b strings.Builder
	found := false
	for i := 0; i < len(s); i++ {
		if s[i] == '<' && i+1 < len(s) && (isLetter(rune(s[i+1])) || s[i+1] == '/' || s[i+1] == '!') {
			if end := strings.IndexByte(s[i:], '>'); end > 0 {
				b.WriteByte(' ')
				i += end
				found = true
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), found
}

func proseWords(s string) bool {
	var words, numbers, spaces, letters, nonSpace, wordLen, longest, joints, symbols int
	inSpace := false
	prev := byte(' ')
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		i += n
		if r < utf8.RuneSelf && codeJoint(prev, byte(r), s, i) {
			joints++
		}
		if r < utf8.RuneSelf {
			prev = byte(r)
		} else {
			prev = 'a'
		}
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == 0xa0:
			if !inSpace {
				spaces++
			}
			inSpace = true
			wordLen = 0
			continue
		case isLetter(r):
			letters++
			if wordLen == 0 {
				words++
			}
			wordLen++
			longest = max(longest, wordLen)
		case (r == '\'' || r == 0x2019 || r == '-') && wordLen > 0:
			// inside a word (O'Brien, well-known): the word goes on
		case r >= '0' && r <= '9':
			if wordLen == 0 && (i-n == 0 || !(s[i-n-1] >= '0' && s[i-n-1] <= '9')) {
				numbers++
			}
			wordLen = 0
		default:
			if strings.ContainsRune(";{}[]=|&$\\*^~", r) {
				symbols++
			}
			wordLen = 0
		}
		inSpace = false
		nonSpace++
	}
	return words >= 2 && words+numbers >= 3 && spaces*2 >= words && letters*10 >= nonSpace*6 &&
		longest <= 45 && letters <= 15*words && // words, not padding (AAAA...)
		joints*4 <= words && (symbols < 2 || symbols*10 <= nonSpace)
}

// codeJoint reports a joint of code at c (after prev; s[i:] follows c):
// a name glued to an opening parenthesis, brace or bracket, an
// assignment, a member access, or statements glued by ";" or "}".
func codeJoint(prev, c byte, s string, i int) bool {
	alnum := prev >= 'a' && prev <= 'z' || prev >= 'A' && prev <= 'Z' || prev >= '0' && prev <= '9' || prev == '_'
	switch c {
	case '(', '{', '[', '=':
		return alnum || prev == ')' || prev == ']'
	case '.':
		return alnum && i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] == '_') && !(prev >= '0' && prev <= '9')
	case ';', '}':
		return i < len(s) && s[i] != ' ' && s[i] != '\n' && s[i] != '\r'
	}
	return false
}

// Text reports whether s is natural-language text or a document of it:
// prose (Prose), or three lines or more made mostly of letters (an
// article, a README, a list of names and addresses, a code sample with
// its explanation).
func Text(s string) bool {
	if looksLikeProse(s) {
		return true
	}
	if text, ok := stripTags(s); ok {
		s = text
	}
	if len(s) < 40 || strings.Count(strings.TrimSpace(s), "\n") < 2 {
		return false
	}
	letters, nonSpace := 0, 0
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
		case isLetter(r):
			letters++
			nonSpace++
		default:
			nonSpace++
		}
	}
	return letters*2 >= nonSpace
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.Is(unicode.Mn, r)
}
