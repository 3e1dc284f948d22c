package analyze

import "strings"

// shell judges OS command injection with the shell's grammar: a value
// pasted into a command line breaks out with a separator (; | || && &
// or a line break) or a substitution ($(...), `...`) followed by a
// command. The command word is read as the shell would, without the
// quotes, backslashes and empty expansions used to hide it (c'a't,
// c\at, c$@at), and with $IFS and brace expansion as spaces.
//
// A separator at the start of the value (after at most one word: the
// host, file name or number the field was meant to hold) followed by a
// known command and arguments that read as shell arguments (paths,
// options, URLs, or none) is a break-out. The same in the middle of
// text is Medium; "Tom & Jerry" is not a command.
func shell(t *text, place Place) Finding {
	s := t.s
	if !strings.ContainsAny(s, ";|&`$\n\r(<>{- %") {
		return Finding{}
	}
	var best Finding
	keep := func(f Finding) {
		if f.better(best) {
			best = f
		}
	}
	// Shellshock: a function definition where a header value goes.
	if strings.HasPrefix(strings.TrimSpace(s), "() {") {
		keep(Finding{Confidence: High, Why: "shellshock function definition"})
	}
	hasIFS := strings.Contains(s, "$IFS") || strings.Contains(s, "${IFS")
	text := t.isText()
	// In text of three lines or more, a line break is the text's.
	lines := text && strings.Count(strings.TrimSpace(s), "\n") >= 2
	for i := 0; i < len(s) && best.Confidence < High; i++ {
		c := s[i]
		kind := ""
		start := i + 1
		switch c {
		case '\n', '\r':
			if lines && strings.TrimSpace(s[:i]) != "" {
				continue // a line break of text, not a separator
			}
			kind = "separator"
		case ';':
			kind = "separator"
		case '|', '&':
			kind = "separator"
			if start < len(s) && s[start] == c {
				start++
			}
			if c == '&' && start < len(s) && s[start] == '#' {
				continue // a character reference, not a shell's &
			}
		case '`':
			if start < len(s) && s[start] == '`' || i > 0 && s[i-1] == '`' {
				continue // `` and ``` are Markdown's code spans and fences
			}
			kind = "substitution"
		case '$':
			switch {
			case strings.HasPrefix(s[i:], "$(("):
				if arithmetic(s[i+3:]) {
					keep(Finding{Confidence: High, Why: "arithmetic expansion"})
				}
				continue
			case strings.HasPrefix(s[i:], "$("):
				kind, start = "substitution", i+2
			default:
				continue
			}
		case '<', '>':
			if start < len(s) && s[start] == '(' {
				kind, start = "process substitution", start+1
				break
			}
			if f := redirection(s, i); f.Confidence > 0 {
				keep(f)
			}
			continue
		default:
			continue
		}
		word, rest := commandWord(s[start:])
		if word == "" || !isCommand(word) || !endsWord(rest) {
			continue
		}
		if rest != "" && rest[0] == ',' && !strings.HasPrefix(strings.TrimLeft(s[start:], " \t"), "{") {
			continue // "data:image/png;base64,...": a word then a comma is a command only in {cmd,arg}
		}
		word = canonicalCommand(word)
		args := shellArgs(rest)
		atStart := kind == "separator" && breaksOutAtStart(s[:i])
		if (word == "set" && strings.HasPrefix(strings.TrimSpace(rest), "/a ") || word == "expr") && arithmeticArgs(rest) {
			// cmd's set /a and expr computing a product: a probe that
			// looks for the result in the page.
			keep(Finding{Confidence: High, Why: kind + " then " + word + " arithmetic"})
			continue
		}
		switch {
		case hasIFS:
			keep(Finding{Confidence: High, Why: kind + " then " + word + " with $IFS"})
		case atStart && args != plainWords && attackCommands[bareCommand(word)]:
			keep(Finding{Confidence: High, Why: kind + " then " + word})
		case atStart && args != plainWords:
			keep(Finding{Confidence: Medium, Why: kind + " then " + word})
		case text:
			// A command quoted in text: "run `ls -la`", "x | grep y".
			keep(Finding{Confidence: Low, Why: kind + " then " + word + " in text"})
		case kind != "separator" && args != plainWords:
			keep(Finding{Confidence: High, Why: kind + " of " + word})
		case args == shellLike:
			keep(Finding{Confidence: Medium, Why: kind + " then " + word})
		case atStart:
			keep(Finding{Confidence: Low, Why: kind + " then " + word + " and words"})
		}
	}
	if best.Confidence < High {
		keep(interpreterCall(t))
	}
	if best.Confidence < High && strings.IndexByte(s, '|') > 0 {
		keep(pipeToShell(t))
	}
	if best.Confidence < High && (strings.Contains(t.lc(), "for") && strings.Contains(s, "%") || strings.Contains(t.lc(), "if")) {
		keep(cmdFor(t.lc()))
	}
	if best.Confidence < High && strings.Contains(s, "${") && paramSlice(s) {
		keep(Finding{Confidence: High, Why: "parameter expansion slicing"})
	}
	return best
}

// interpreters and the option that makes them run the code that
// follows: a value that is "sh -c ..." or "python3 -c ..." is a command
// line, whatever precedes the interpreter (time, nohup, env).
var interpreters = map[string]string{"sh": "-c", "bash": "-c", "zsh": "-c", "ksh": "-c", "dash": "-c", "csh": "-c",
	"busybox": "", "python": "-c", "python2": "-c", "python3": "-c", "perl": "-e", "ruby": "-e", "php": "-r",
	"node": "-e", "nodejs": "-e", "lua": "-e", "powershell": "-c", "pwsh": "-c", "cmd": "/c", "cmd.exe": "/c", "nc": "-e", "ncat": "-e"}

// interpreterCall finds a value that starts as a command line running
// code: an interpreter (or $SHELL) with its run-this option, or a shell
// command reading a system file.
func interpreterCall(t *text) Finding {
	fields := strings.Fields(t.lc()[:min(len(t.s), 256)])
	for len(fields) > 0 && (fields[0] == "time" || fields[0] == "nohup" || fields[0] == "env" || fields[0] == "exec" || strings.Trim(fields[0], "'\"") == "") {
		fields = fields[1:]
	}
	if len(fields) < 2 {
		return Finding{}
	}
	w, _ := commandWord(fields[0])
	w = bareCommand(w)
	if strings.HasPrefix(fields[0], "$shell") {
		w = "sh"
	}
	if opt, ok := interpreters[w]; ok && (opt == "" && strings.HasPrefix(fields[1], "-") || opt != "" && (fields[1] == opt || strings.HasPrefix(fields[1], opt))) {
		return Finding{Confidence: High, Why: w + " " + opt + " command line"}
	}
	if attackCommands[w] && len(fields) <= 4 && sensitiveTarget(fields[len(fields)-1]) != "" {
		return Finding{Confidence: High, Why: w + " of " + sensitiveTarget(fields[len(fields)-1])}
	}
	return Finding{}
}

// cmdFor finds cmd.exe's FOR loop (FOR [/D /R path /L /F "opts"] %x IN
// (...) DO ...) and IF [/I] [NOT] EXIST tests.
func cmdFor(lc string) Finding {
	for from := 0; ; {
		i := strings.Index(lc[from:], "for")
		if i < 0 {
			break
		}
		i += from
		from = i + 3
		if i > 0 && isIdentByte(lc[i-1]) || i+3 < len(lc) && isIdentByte(lc[i+3]) {
			continue
		}
		window := strings.Join(strings.Fields(lc[i:min(len(lc), i+300)]), " ")
		p := strings.Index(window, "%")
		in := strings.Index(window, " in (")
		if in < 0 {
			in = strings.Index(window, " in(")
		}
		// %x, %%x or %name: one token between the % and IN
		if p > 0 && in > p && in-p <= 24 && !strings.ContainsAny(window[p:in], " \t") &&
			(strings.Contains(window[in:], ") do") || strings.Contains(window[in:], ")do")) {
			return Finding{Confidence: High, Why: "cmd FOR loop"}
		}
	}
	for from := 0; ; {
		i := strings.Index(lc[from:], "if")
		if i < 0 {
			return Finding{}
		}
		i += from
		from = i + 2
		if i > 0 && isIdentByte(lc[i-1]) || i+2 < len(lc) && isIdentByte(lc[i+2]) {
			continue
		}
		f := strings.Fields(lc[i+2 : min(len(lc), i+200)])
		k := 0
		for k < len(f) && (f[k] == "/i" || f[k] == "not") {
			k++
		}
		switch {
		case k+1 < len(f) && (f[k] == "exist" || f[k] == "defined" || f[k] == "errorlevel" || f[k] == "cmdextversion"):
			return Finding{Confidence: Medium, Why: "cmd IF " + strings.ToUpper(f[k])}
		case k+2 < len(f) && cmdComparisons[f[k+1]]:
			return Finding{Confidence: Medium, Why: "cmd IF comparison"}
		case k < len(f) && strings.Contains(f[k], "==") && (k > 0 || strings.ContainsAny(f[k], "%!")) && !codeLine(f):
			// "%VAR%"=="x", IF /I a==b: cmd's comparisons, no spaces around ==
			return Finding{Confidence: Medium, Why: "cmd IF comparison"}
		case k+2 < len(f) && f[k+1] == "==" && strings.ContainsAny(f[k], "%!\"(") && !codeLine(f):
			return Finding{Confidence: Medium, Why: "cmd IF comparison"}
		}
	}
}

// codeLine reports an if statement of a programming language (Python's
// ends in ':', C's and JavaScript's open a brace), not cmd's.
func codeLine(f []string) bool {
	for _, w := range f {
		if strings.HasSuffix(w, ":") || strings.Contains(w, "{") || strings.Contains(w, ")") && strings.HasSuffix(w, ":") {
			return true
		}
	}
	return false
}

var cmdComparisons = map[string]bool{"equ": true, "neq": true, "lss": true, "leq": true, "gtr": true, "geq": true}

// breaksOutAtStart reports whether what comes before a separator is at
// most one word (the value the field was meant to hold) or a quote that
// closes a quoted argument.
func breaksOutAtStart(prefix string) bool {
	prefix = strings.TrimSpace(prefix)
	prefix = strings.Trim(prefix, `'"`)
	return !strings.ContainsAny(prefix, " \t\n\r")
}

// commandWord reads the command word at the start of s as the shell
// would: after spaces, $IFS, '{' and '(' and '!', without quotes,
// backslashes and empty expansions ($@, $*, ${x:0:0} is not handled). It
// returns the word and what follows it.
func commandWord(s string) (string, string) {
	i := 0
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '{' || s[i] == '(' || s[i] == '!' || s[i] == '\n' || s[i] == '\r':
			i++
		case strings.HasPrefix(s[i:], "${IFS}"):
			i += 6
		case strings.HasPrefix(s[i:], "$IFS$9"):
			i += 6
		case strings.HasPrefix(s[i:], "$IFS"):
			i += 4
		default:
			goto word
		}
	}
word:
	var b [32]byte
	n := 0
	j := i
	for ; j < len(s) && n < len(b); j++ {
		c := s[j]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '/', c == '.', c == '_', c == '-':
			b[n] = c
			n++
		case c == '\'' || c == '"' || c == '\\':
			// quotes and escapes inside a word vanish
		case c == '$' && j+1 < len(s) && (s[j+1] == '@' || s[j+1] == '*'):
			j++
		default:
			goto done
		}
	}
done:
	return string(b[:n]), s[j:]
}

// endsWord reports whether a command word ends where rest begins: at
// the end, a space or a shell metacharacter ("id=5" is an assignment,
// "id.html" a file name).
func endsWord(rest string) bool {
	return rest == "" || strings.IndexByte(" \t;|&<>)`\n\r$,}", rest[0]) >= 0
}

// isCommand reports whether w names a command attacks run, bare or by
// path (/bin/sh, /usr/bin/id); Windows' commands in any letter case
// (PoWeRsHeLl), as cmd.exe finds them.
func isCommand(w string) bool {
	if k := strings.LastIndexByte(w, '/'); k >= 0 {
		dir := w[:k+1]
		if dir != "/bin/" && dir != "/usr/bin/" && dir != "/sbin/" && dir != "/usr/sbin/" && dir != "/usr/local/bin/" {
			return false
		}
		w = w[k+1:]
	}
	return commands[w] || windowsCommands[asciiLower(w)]
}

// canonicalCommand is a command word as the tables name it: a Windows
// command in lower case.
func canonicalCommand(w string) string {
	if !commands[bareCommand(w)] {
		if lw := asciiLower(w); windowsCommands[bareCommand(lw)] {
			return lw
		}
	}
	return w
}

// windowsCommands are the commands cmd.exe and PowerShell run whatever
// their letter case.
var windowsCommands = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`cmd cmd.exe powershell powershell.exe pwsh pwsh.exe certutil certutil.exe bitsadmin
	wmic net net1 reg regsvr32 rundll32 mshta cscript wscript tasklist taskkill systeminfo ver type ipconfig whoami
	whoami.exe dir copy del erase ren start schtasks sc icacls attrib findstr vssadmin nslookup ping tracert
	curl.exe iex iwr irm invoke-expression invoke-webrequest invoke-restmethod start-process get-content`) {
		windowsCommands[c] = true
	}
}

// shellInterpreters run what is piped into them.
var shellInterpreters = map[string]bool{"sh": true, "bash": true, "zsh": true, "ksh": true, "dash": true, "csh": true,
	"tcsh": true, "ash": true, "busybox": true, "python": true, "python2": true, "python3": true, "perl": true,
	"ruby": true, "php": true, "node": true, "powershell": true, "pwsh": true, "iex": true, "invoke-expression": true}

// pipeToShell finds a payload fetched or decoded and piped into an
// interpreter: "curl -s http://x/a | sh", "wget -O- ... | bash",
// "echo <base64> | base64 -d | sh". Outside text it runs code from
// elsewhere: High. In text, inside a substitution ("$(curl ... | sh)")
// it is still run where it stands: Medium; a plain pipe in text, or one
// in backticks (a Markdown code span), is an install instruction (Low).
func pipeToShell(t *text) Finding {
	lc := t.lc()
	for from := 0; ; {
		k := strings.IndexByte(lc[from:], '|')
		if k < 0 {
			return Finding{}
		}
		k += from
		from = k + 1
		if k+1 < len(lc) && lc[k+1] == '|' {
			from++
			continue
		}
		w, _ := commandWord(lc[k+1:])
		if !shellInterpreters[bareCommand(w)] {
			continue
		}
		// The command before the pipe: from the last separator or
		// substitution before it.
		seg := lc[:k]
		st := strings.LastIndexAny(seg, ";&`\n(")
		if p := strings.LastIndexByte(seg, '|'); p > st {
			st = p
		}
		seg = strings.TrimSpace(seg[st+1:])
		src, rest := commandWord(seg)
		src = bareCommand(src)
		var why string
		switch {
		case src == "curl" || src == "wget" || src == "fetch" || src == "lwp-download" || src == "curl.exe" ||
			src == "iwr" || src == "irm" || src == "invoke-webrequest" || src == "invoke-restmethod":
			why = "download piped to " + bareCommand(w)
		case src == "base64" && (strings.Contains(rest, "-d") || strings.Contains(rest, "--decode") || strings.Contains(rest, "-D")),
			src == "xxd" && strings.Contains(rest, "-r"), src == "openssl" && strings.Contains(rest, "-d"):
			why = "decoded payload piped to " + bareCommand(w)
		case src == "echo" || src == "printf":
			// echo <blob> | base64 -d | sh: the decoder is the segment before
			continue
		default:
			continue
		}
		// In text only "$(" is a substitution: a backtick there opens a
		// Markdown code span, the way install instructions are quoted.
		substituted := st > 0 && lc[st] == '(' && lc[st-1] == '$'
		switch {
		case !t.isText() || strings.HasPrefix(why, "decoded"):
			// No install instruction decodes a blob into a shell.
			return Finding{Confidence: High, Why: why}
		case substituted:
			return Finding{Confidence: Medium, Why: why + " in a substitution in text"}
		default:
			return Finding{Confidence: Low, Why: why + " in text"}
		}
	}
}

type argKind uint8

const (
	noArgs argKind = iota
	shellLike
	plainWords
)

// shellArgs classifies what follows a command word up to the next
// separator: nothing, arguments as shell commands take them (options,
// paths, URLs, numbers, variables, quotes, redirections), or plain words
// (prose).
func shellArgs(rest string) argKind {
	end := strings.IndexAny(rest, ";|&\n\r`)")
	if end >= 0 {
		rest = rest[:end]
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return noArgs
	}
	fields := strings.Fields(rest)
	for _, f := range fields {
		if strings.ContainsAny(f, "/\\-.$=:'\"<>*0123456789{}@+,") {
			return shellLike
		}
	}
	if len(fields) <= 1 {
		return shellLike
	}
	return plainWords
}

// arithmeticArgs reports a product or sum of two numbers in a
// command's arguments ("/a 3482*7301", "7 \\* 191").
func arithmeticArgs(rest string) bool {
	rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), "/a"))
	if end := strings.IndexAny(rest, ";|&\n"); end >= 0 {
		rest = rest[:end]
	}
	rest = strings.NewReplacer("\\", "", " ", "", "\"", "", "'", "").Replace(rest)
	return arithmeticProbe(rest)
}

// arithmetic reports whether s starts an arithmetic expansion of
// numbers ("3*7))").
func arithmetic(s string) bool {
	end := strings.Index(s, "))")
	if end <= 0 {
		return false
	}
	digits := false
	for _, c := range []byte(s[:end]) {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case strings.IndexByte("+-*/% ", c) >= 0:
		default:
			return false
		}
	}
	return digits
}

// redirection judges a redirection at s[i]: to or from the network
// (/dev/tcp) or a system file.
func redirection(s string, i int) Finding {
	j := i + 1
	if j < len(s) && (s[j] == '>' || s[j] == '&') {
		j++
	}
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	rest := s[j:]
	switch {
	case strings.HasPrefix(rest, "/dev/tcp/") || strings.HasPrefix(rest, "/dev/udp/"):
		return Finding{Confidence: High, Why: "redirection to /dev/tcp"}
	case strings.HasPrefix(rest, "/etc/") || strings.HasPrefix(rest, "/proc/"):
		// cat</etc/passwd: a command right before it
		w := i
		for w > 0 && (s[w-1] >= 'a' && s[w-1] <= 'z') {
			w--
		}
		if commands[s[w:i]] {
			return Finding{Confidence: High, Why: "redirection from " + rest[:strings.IndexByte(rest[1:], '/')+2]}
		}
	}
	return Finding{}
}

// paramSlice finds ${NAME:N:M}, which builds characters out of
// environment variables (${PATH:0:1} is "/").
func paramSlice(s string) bool {
	for i := strings.Index(s, "${"); i >= 0; {
		j := i + 2
		for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] == '_') {
			j++
		}
		if j > i+2 && j+2 < len(s) && s[j] == ':' && s[j+1] >= '0' && s[j+1] <= '9' {
			return true
		}
		k := strings.Index(s[j:], "${")
		if k < 0 {
			break
		}
		i = j + k
	}
	return false
}

// bareCommand is a command word without its directory.
func bareCommand(w string) string {
	if k := strings.LastIndexByte(w, '/'); k >= 0 {
		return w[k+1:]
	}
	return w
}

// attackCommands are the commands an injection runs first: to see whom
// it runs as and where, to read a file, to fetch or call back, to open a
// shell or an interpreter, to wait. After a separator at the start of a
// value they are a break-out; other commands there (export, source, set)
// are Medium.
var attackCommands = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`id whoami uname hostname cat tac head tail more less od xxd strings ls dir pwd echo printf env
	printenv ps netstat ifconfig ip nslookup dig host getent ping ping6 traceroute curl wget lwp-download nc ncat netcat
	socat telnet tftp ftp bash sh zsh ksh csh tcsh dash busybox python python2 python3 perl ruby php node nodejs lua
	awk base64 sleep timeout rm chmod chown touch mkdir cmd cmd.exe powershell powershell.exe pwsh certutil bitsadmin
	wmic net net1 reg regsvr32 rundll32 mshta cscript wscript tasklist taskkill systeminfo ver type ipconfig
	whoami.exe nmap find xargs mkfifo expr`) {
		attackCommands[c] = true
	}
}

// commands are the commands command injections run: to look around
// (id, uname, cat), fetch and run a payload (curl, wget, sh), call back
// (nc, ping, nslookup) or wait (sleep); Unix and Windows.
var commands = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`id whoami uname hostname cat tac head tail more less nl od xxd hexdump strings ls dir
	find locate pwd echo printf env printenv set export ps netstat ss ifconfig ip route arp nslookup dig host getent
	ping ping6 traceroute tracert curl wget fetch lwp-download lynx nc ncat netcat socat telnet ssh scp sftp ftp tftp
	rsync bash sh zsh ksh csh tcsh dash fish busybox python python2 python3 perl ruby php node nodejs lua awk gawk
	sed xargs base64 openssl sleep timeout kill pkill killall rm rmdir mv cp chmod chown chgrp touch mkdir ln crontab
	sudo su passwd useradd usermod shutdown reboot systemctl service mount dd tar unzip gzip gunzip nohup eval
	exec source uptime cmd cmd.exe powershell powershell.exe pwsh certutil bitsadmin wmic net net1 reg regsvr32
	rundll32 mshta cscript wscript tasklist taskkill systeminfo ver type copy del erase ren start schtasks sc icacls
	ipconfig attrib findstr whoami.exe vssadmin expr mkfifo mknod chattr history jobs sysctl getconf lsof nmap
	xterm iptables crontab.exe php-cgi jrunscript java`) {
		commands[c] = true
	}
}
