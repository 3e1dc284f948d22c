package analyze

import "strings"

// headerNames are headers an injection adds to an e-mail (through a
// field the app puts in To:, Subject: or From:) or to an HTTP response
// (through a value it puts in Location: or a cookie).
var headerNames = map[string]bool{
	"to": true, "cc": true, "bcc": true, "from": true, "subject": true, "reply-to": true, "sender": true,
	"return-path": true, "content-type": true, "content-transfer-encoding": true, "mime-version": true,
	"x-mailer": true, "set-cookie": true, "location": true, "content-length": true, "transfer-encoding": true,
	"refresh": true, "content-security-policy": true, "x-xss-protection": true, "access-control-allow-origin": true,
	"content-disposition": true, "link": true, "host": true, "x-forwarded-for": true, "x-forwarded-host": true,
	"cookie": true, "authorization": true,
}

// mailCommands are SMTP and POP3 commands; imapCommands follow a tag.
var mailCommands = map[string]bool{
	"HELO": true, "EHLO": true, "MAIL": true, "RCPT": true, "DATA": true, "RSET": true, "VRFY": true, "EXPN": true,
	"NOOP": true, "QUIT": true, "AUTH": true, "STARTTLS": true, "TURN": true, "ETRN": true, "BDAT": true,
	"USER": true, "PASS": true, "STAT": true, "RETR": true, "DELE": true, "UIDL": true, "APOP": true, "TOP": true,
}

var imapCommands = map[string]bool{
	"CAPABILITY": true, "LOGIN": true, "LOGOUT": true, "SELECT": true, "EXAMINE": true, "CREATE": true, "DELETE": true,
	"RENAME": true, "LIST": true, "LSUB": true, "STATUS": true, "APPEND": true, "FETCH": true, "STORE": true,
	"COPY": true, "UID": true, "SEARCH": true, "EXPUNGE": true, "AUTHENTICATE": true, "CHECK": true,
	"CLOSE": true, "SUBSCRIBE": true, "UNSUBSCRIBE": true, "NOOP": true, "IDLE": true, "MOVE": true, "ID": true,
}

// crlf judges injection through a line break: a header line after it
// (mail headers, response splitting), a mail or IMAP command, or an HTTP
// status line. A value that begins with the line break, or a place
// that never holds one (a path, a header, a name, a one-line field), is
// a break-out; a header-like line in multi-line text ("Note: ...") is
// not, and a known header there is Medium.
func crlf(t *text, place Place) Finding {
	s := t.s
	first := strings.IndexAny(s, "\r\n")
	if first < 0 {
		return Finding{}
	}
	leading := strings.TrimLeft(s[:first], " \t") == ""
	lines := strings.Count(s, "\n") + strings.Count(s, "\r") - strings.Count(s, "\r\n")
	oneLine := place != Arg || leading || lines <= 1 || !t.isText()
	var best Finding
	for i := first; i < len(s); i++ {
		if s[i] != '\n' && s[i] != '\r' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == '\n' || s[j] == '\r') {
			j++
		}
		line := s[j:]
		if k := strings.IndexAny(line, "\r\n"); k >= 0 {
			line = line[:k]
		}
		blank := strings.Count(s[i:j], "\n") >= 2
		i = j - 1
		f := judgeLine(line, blank)
		if f.Confidence == NoFinding {
			continue
		}
		if !oneLine && f.Confidence == High {
			f.Confidence = Medium
			f.Why += " in multi-line text"
		}
		if f.better(best) {
			best = f
		}
	}
	return best
}

// judgeLine judges one line after a line break (blank: after an empty
// line, which ends headers).
func judgeLine(line string, blank bool) Finding {
	trim := strings.TrimSpace(line)
	if trim == "" {
		return Finding{}
	}
	if strings.HasPrefix(trim, "HTTP/1.") || strings.HasPrefix(trim, "HTTP/2") {
		return Finding{Confidence: High, Why: "status line after a line break"}
	}
	if blank && (strings.HasPrefix(asciiLower(trim), "<html") || strings.HasPrefix(asciiLower(trim), "<script")) {
		return Finding{Confidence: High, Why: "response body after a blank line"}
	}
	// Header line: name: value
	if c := strings.IndexByte(trim, ':'); c > 0 && c < 40 {
		name := trim[:c]
		if isToken(name) {
			if headerNames[asciiLower(name)] {
				return Finding{Confidence: High, Why: "header " + asciiLower(name) + " after a line break"}
			}
			if strings.HasPrefix(asciiLower(name), "x-") {
				return Finding{Confidence: Medium, Why: "header after a line break"}
			}
		}
	}
	fields := strings.Fields(trim)
	verb := fields[0]
	if mailCommands[verb] {
		switch verb {
		case "MAIL", "RCPT":
			if len(fields) > 1 && (strings.HasPrefix(fields[1], "FROM:") || strings.HasPrefix(fields[1], "TO:")) {
				return Finding{Confidence: High, Why: "SMTP " + verb + " after a line break"}
			}
			return Finding{}
		case "USER", "PASS", "TOP", "STAT":
			if len(fields) > 3 {
				return Finding{}
			}
			return Finding{Confidence: Medium, Why: "mail command " + verb + " after a line break"}
		}
		if len(fields) <= 3 {
			return Finding{Confidence: High, Why: "mail command " + verb + " after a line break"}
		}
	}
	if len(fields) >= 2 && len(fields) <= 6 && imapCommands[fields[1]] && isToken(verb) && len(verb) <= 12 {
		return Finding{Confidence: High, Why: "IMAP " + fields[1] + " after a line break"}
	}
	return Finding{}
}

// isToken reports whether s is an HTTP token (a header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
