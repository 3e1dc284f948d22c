package analyze

import "strings"

// xxe judges XML that makes its parser fetch or read something: an
// entity declared with an external identifier (<!ENTITY x SYSTEM
// "file:///etc/passwd">, a parameter entity), an external DTD, or an
// XInclude.
func xxe(t *text) Finding {
	s := t.s
	if !strings.Contains(s, "<!") && !strings.Contains(s, "XInclude") {
		return Finding{}
	}
	lc := t.lc()
	for from := 0; ; {
		i := strings.Index(lc[from:], "<!entity")
		if i < 0 {
			break
		}
		i += from
		from = i + 8
		end := strings.IndexByte(lc[i:], '>')
		if end < 0 {
			end = len(lc) - i
		}
		decl := lc[i : i+end]
		if strings.Contains(decl, " system ") || strings.Contains(decl, " public ") || strings.Contains(decl, "system\"") || strings.Contains(decl, "system'") {
			return Finding{Confidence: High, Why: "external entity"}
		}
	}
	if i := strings.Index(lc, "<!doctype"); i >= 0 {
		decl := lc[i:min(len(lc), i+300)]
		if end := strings.IndexAny(decl, ">["); end >= 0 {
			decl = decl[:end]
		}
		if (strings.Contains(decl, " system ") || strings.Contains(decl, " public ")) && (strings.Contains(decl, "://") || strings.Contains(decl, "file:")) &&
			!strings.Contains(decl, "w3.org/") {
			return Finding{Confidence: High, Why: "external DTD"}
		}
	}
	if strings.Contains(lc, "w3.org/2001/xinclude") && strings.Contains(lc, ":include") {
		return Finding{Confidence: High, Why: "XInclude"}
	}
	return Finding{}
}
