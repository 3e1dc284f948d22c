package analyze

import "strings"

// xxe judges XML that makes its parser fetch or read something: an
// entity declared with an external identifier (<!ENTITY x SYSTEM
// "file:///etc/passwd">, a parameter entity), an external DTD, or an
// XInclude.
func xxe(t *text) Finding {
	s := t.s
	if !strings.Contains(s, "<!") && !strings.Contains(s, "XInclude") {
		if strings.Contains(s, "file:") {
			return fileReference(t.lc())
		}
		return Finding{}
	}
	lc := t.lc()
	expanding := 0
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
		// An entity whose value is made of other entities: nested,
		// they expand exponentially ("billion laughs").
		if refs := strings.Count(decl, "&"); refs >= 2 && strings.Count(decl, ";") >= refs {
			expanding += refs
		}
	}
	if expanding >= 4 {
		return Finding{Confidence: High, Why: "entity expansion"}
	}
	if f := fileReference(lc); f.Confidence > NoFinding {
		return f
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

// fileReference finds markup that points a renderer at a local file:
// an SVG's <image xlink:href="file:///etc/passwd">, a src or href of
// file: (image processors and PDF renderers read them on the server).
func fileReference(lc string) Finding {
	for from := 0; ; {
		i := strings.Index(lc[from:], "file:")
		if i < 0 {
			return Finding{}
		}
		i += from
		from = i + 5
		before := strings.TrimRight(lc[max(0, i-16):i], " \t\n\"'")
		if strings.HasSuffix(before, "href=") || strings.HasSuffix(before, "src=") || strings.HasSuffix(before, "url(") {
			return Finding{Confidence: High, Why: "reference to a local file"}
		}
	}
}
