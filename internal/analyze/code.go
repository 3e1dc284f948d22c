package analyze

import "strings"

// codeSign is an expression that only code injected into an interpreter
// (PHP, Python, Java, ASP, Node.js) or a serialized object writes.
type codeSign struct {
	s string // lower case
	// call: the sign is a function name that counts only when called
	// (followed by '(' after optional spaces).
	call bool
	// strong: counts even in prose (nobody writes it in a sentence).
	strong bool
}

var codeSigns = []codeSign{
	// PHP
	{s: "<?php", strong: true}, {s: "<?=", strong: false}, {s: "php://filter", strong: true}, {s: "php://input", strong: true},
	{s: "expect://", strong: true}, {s: "phar://", strong: true}, {s: "zip://", strong: false}, {s: "data://text/plain;base64", strong: true},
	{s: "system", call: true}, {s: "passthru", call: true, strong: true}, {s: "shell_exec", call: true, strong: true},
	{s: "proc_open", call: true, strong: true}, {s: "popen", call: true}, {s: "pcntl_exec", call: true, strong: true},
	{s: "assert", call: true}, {s: "create_function", call: true, strong: true}, {s: "call_user_func", call: true},
	{s: "base64_decode", call: true}, {s: "gzinflate", call: true, strong: true}, {s: "str_rot13", call: true},
	{s: "file_get_contents", call: true}, {s: "file_put_contents", call: true, strong: true}, {s: "phpinfo", call: true, strong: true},
	{s: "$_get[", strong: true}, {s: "$_post[", strong: true}, {s: "$_request[", strong: true}, {s: "$_cookie[", strong: true},
	{s: "$_server[", strong: true}, {s: "fsockopen", call: true}, {s: "pfsockopen", call: true, strong: true},
	{s: "stream_socket_client", call: true, strong: true}, {s: "curl_exec", call: true}, {s: "unserialize", call: true},
	{s: "highlight_file", call: true, strong: true}, {s: "show_source", call: true, strong: true},
	{s: "move_uploaded_file", call: true}, {s: "gzuncompress", call: true}, {s: "preg_replace", call: true},
	// Python
	{s: "__import__", call: true, strong: true}, {s: "os.system", call: true}, {s: "os.popen", call: true},
	{s: "subprocess.popen", call: true}, {s: "subprocess.call", call: true}, {s: "subprocess.run", call: true},
	{s: "subprocess.check_output", call: true}, {s: "pickle.loads", call: true}, {s: "marshal.loads", call: true},
	{s: "__builtins__", strong: true}, {s: "__globals__", strong: true}, {s: "__subclasses__", strong: true},
	{s: "!!python/object", strong: true}, {s: "!!python/name", strong: true}, {s: "!!python/module", strong: true},
	{s: "exec", call: true}, {s: "eval", call: true}, {s: "compile", call: true},
	// Java and its expression languages
	{s: "runtime.getruntime", strong: true}, {s: "processbuilder", call: true, strong: true}, {s: "class.forname", call: true},
	{s: "${jndi:", strong: true}, {s: "javax.script", strong: true}, {s: "scriptenginemanager", strong: true},
	{s: "#_memberaccess", strong: true}, {s: "@java.lang.", strong: true}, {s: "java.lang.runtime", strong: true},
	{s: "java.lang.processbuilder", strong: true}, {s: "t(java.", strong: true}, {s: "!!javax.", strong: true},
	{s: "!!java.", strong: true}, {s: "getclass().forname", strong: true},
	// ASP / VBScript
	{s: "createobject", call: true}, {s: "server.createobject", call: true, strong: true}, {s: "wscript.shell", strong: true},
	{s: "response.write", call: true, strong: true}, {s: "executeglobal", call: true, strong: true}, {s: "execute", call: true},
	{s: "on error resume next", strong: false},
	// Node.js
	{s: "'child_process'", strong: true}, {s: `"child_process"`, strong: true}, {s: "child_process.exec", strong: true},
	{s: "child_process.spawn", strong: true}, {s: "process.mainmodule", strong: true}, {s: "process.binding", call: true, strong: true},
	{s: "execsync", call: true}, {s: "spawnsync", call: true}, {s: "require", call: true},
	// Serialized objects
	{s: "ro0ab", strong: true}, {s: "aced0005", strong: true}, {s: "aaeaaad/////", strong: true},
	{s: `"$type":"system.`, strong: true}, {s: `"@type":"`, strong: false},
}

// code judges code injection: an interpreter's dangerous functions
// called, its wrappers and serialization markers, in a value that reads
// as code (prose that names os.system is a snippet, Low).
func code(t *text) Finding {
	lc := t.lc()
	if i := strings.Index(lc, "<?"); i >= 0 && i+2 < len(lc) && (lc[i+2] == ' ' || lc[i+2] == '\t' || lc[i+2] == '\n') {
		// "<? php": PHP opens with any whitespace after "<?"
		if rest := strings.TrimLeft(lc[i+2:], " \t\r\n"); strings.HasPrefix(rest, "php") {
			lc = lc[:i+2] + rest
		}
	}
	if !strings.ContainsAny(lc, "(<$!_:@") && !strings.Contains(lc, "ro0ab") && !strings.Contains(lc, "aced0005") && !strings.Contains(lc, "aaeaaad") {
		return Finding{}
	}
	var best Finding
	signs, strongSigns := 0, 0
	for _, c := range codeSigns {
		i := strings.Index(lc, c.s)
		if i < 0 {
			continue
		}
		if c.call && !calledAt(lc, i, len(c.s)) {
			continue
		}
		if c.s == "require" && !strings.Contains(lc[i:], "child_process") && !strings.Contains(lc[i:], "'fs'") && !strings.Contains(lc[i:], "\"fs\"") {
			continue
		}
		if c.s == "ro0ab" || c.s == "aaeaaad/////" {
			// base64 of a serialized Java / .NET object: at the start
			if i != 0 && t.s[i-1] != ' ' && t.s[i-1] != '=' && t.s[i-1] != '"' {
				continue
			}
			if !strings.HasPrefix(t.s[i:], "rO0AB") && !strings.HasPrefix(t.s[i:], "AAEAAAD/////") {
				continue
			}
		}
		signs++
		if c.strong {
			strongSigns++
		}
		f := Finding{Confidence: Medium, Why: c.s}
		switch {
		case c.strong && !t.isProse():
			f.Confidence = High
		case c.strong:
			f.Confidence = Medium
		case t.isProse() || inSentence(lc):
			f.Confidence = Low
		}
		if f.better(best) {
			best = f
		}
	}
	if best.Confidence == Medium && signs >= 2 && strongSigns > 0 && !t.isProse() {
		best.Confidence = High
		best.Why += " and more"
	}
	return best
}

// inSentence reports code quoted in a sentence ("Use os.system('ls')
// rather than ...") rather than a value that is code: three plain words
// or more (letters only, between spaces).
func inSentence(lc string) bool {
	words := 0
	for _, f := range strings.Fields(lc) {
		f = strings.TrimRight(f, ".,!?:")
		if len(f) >= 2 && strings.Trim(f, "abcdefghijklmnopqrstuvwxyz'") == "" {
			words++
		}
	}
	return words >= 3
}

// calledAt reports whether the name at lc[i:i+n] is a whole word that is
// called: followed by '(' or a backtick, after optional spaces.
func calledAt(lc string, i, n int) bool {
	if i > 0 && (isIdentByte(lc[i-1]) && lc[i-1] != '$') {
		return false
	}
	j := i + n
	if j < len(lc) && isIdentByte(lc[j]) {
		return false
	}
	for j < len(lc) && (lc[j] == ' ' || lc[j] == '\t') {
		j++
	}
	return j < len(lc) && (lc[j] == '(' || lc[j] == '`')
}
