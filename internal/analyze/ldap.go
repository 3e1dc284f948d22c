package analyze

import "strings"

// ldap judges LDAP filter injection: a value that closes the filter it
// is pasted into and opens others ("*)(uid=*))(|(uid=*"), that is a
// filter with boolean operators itself ("(&(uid=a)(!(x=y)))",
// "*(|(objectClass=*))"), or an extensible match with a matching rule's
// OID (userPassword:2.5.13.18:=x).
func ldap(t *text) Finding {
	s := t.s
	if f := extensibleMatch(s); f.Confidence > 0 {
		return f
	}
	if !strings.Contains(s, "(") || !strings.Contains(s, "=") {
		return Finding{}
	}
	filters, boolean, joins := 0, false, strings.Count(s, ")(")
	for i := 0; i < len(s); i++ {
		if s[i] != '(' {
			continue
		}
		j := i + 1
		if j < len(s) && (s[j] == '&' || s[j] == '|' || s[j] == '!') {
			if j+1 < len(s) && s[j+1] == '(' {
				boolean = true
				continue
			}
			if n := filterItem(s[j+1:]); n > 0 {
				boolean = true // (|uid=*): an operator on one item
				filters++
				continue
			}
		}
		if n := filterItem(s[j:]); n > 0 {
			filters++
		}
	}
	switch {
	case filters == 0:
		return Finding{}
	case boolean || joins > 0 && strings.Contains(s, "*"):
		if t.isProse() {
			return Finding{Confidence: Medium, Why: "LDAP filter in prose"}
		}
		return Finding{Confidence: High, Why: "LDAP filter with operators"}
	case joins > 0:
		return Finding{Confidence: Medium, Why: "LDAP filters joined"}
	}
	return Finding{}
}

// filterItem reads "attr=value)" (or ~= >= <=) at the start of s and
// returns its length, or 0. The attribute is a name or an OID.
func filterItem(s string) int {
	i := 0
	for i < len(s) && (isIdentByte(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == ';') {
		i++
	}
	if i == 0 || i >= len(s) {
		return 0
	}
	if s[i] == '~' || s[i] == '>' || s[i] == '<' {
		i++
	}
	if i >= len(s) || s[i] != '=' {
		return 0
	}
	end := strings.IndexAny(s[i:], ")(")
	if end < 0 || s[i+end] != ')' {
		return 0
	}
	return i + end + 1
}

// extensibleMatch finds attr:OID:=value or attr:dn:OID:=value.
func extensibleMatch(s string) Finding {
	for from := 0; ; {
		k := strings.Index(s[from:], ":=")
		if k < 0 {
			return Finding{}
		}
		k += from
		from = k + 2
		// back over the OID: digits and dots, then a colon
		j := k
		for j > 0 && (s[j-1] >= '0' && s[j-1] <= '9' || s[j-1] == '.') {
			j--
		}
		oid := s[j:k]
		if strings.Count(oid, ".") < 2 || j == 0 || s[j-1] != ':' {
			continue
		}
		a := j - 1
		if strings.HasSuffix(s[:a], ":dn") {
			a -= 3
		}
		b := a
		for b > 0 && (isIdentByte(s[b-1]) || s[b-1] == '-') {
			b--
		}
		if b < a {
			return Finding{Confidence: High, Why: "LDAP extensible match"}
		}
	}
}
