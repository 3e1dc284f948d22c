package analyze

import "strings"

// sensitiveFiles are files (and directories) an attacker reads through
// a traversal or an inclusion: system accounts and configuration,
// process state, secrets of the app and its tools, Windows' equivalents.
var sensitiveFiles = []string{
	"etc/passwd", "etc/shadow", "etc/group", "etc/hosts", "etc/issue", "etc/hostname", "etc/sudoers", "etc/crontab",
	"etc/nginx/", "etc/apache2/", "etc/httpd/", "etc/mysql/", "etc/ssh/", "etc/ssl/private", "etc/os-release",
	"proc/self/", "proc/version", "proc/cmdline", "proc/mounts", "proc/net/", "proc/1/", "var/log/", "var/run/secrets",
	".ssh/", "id_rsa", "id_ed25519", "authorized_keys", "known_hosts", ".bash_history",
	".env", ".git/", ".svn/", ".hg/", ".aws/credentials", ".docker/config", ".kube/config", ".netrc", ".pgpass",
	".htaccess", ".htpasswd", "web.config", "wp-config.php", "settings.py", "local_settings.py", "manage.py",
	"config/database.yml", "database.yml", "secrets.yml", "php.ini", "my.cnf",
	"windows/win.ini", "win.ini", "boot.ini", "windows/system32", "windows/system.ini", "system32/config/sam",
	"system32/drivers/etc/hosts", "inetpub/", "ntuser.dat", "users/default", "autoexec.bat", "applicationhost.config",
	"web-inf/web.xml", "web-inf/", "meta-inf/", "etc/subuid", "etc/subgid", "etc/gshadow", "etc/master.passwd",
	"sys/class/", "sys/kernel/", "sys/devices/", ".docker/", "proc/sched_debug", "proc/cpuinfo", "proc/meminfo",
}

// traversal judges path traversal and local file inclusion: dot
// segments that climb out of the directory the value was meant for, an
// absolute path or UNC share, and the files attacks read.
func traversal(t *text, place Place) Finding {
	s := t.s
	if !strings.ContainsAny(s, "./\\") {
		return Finding{}
	}
	if !strings.ContainsAny(s, "/\\") && strings.ContainsAny(strings.TrimSpace(s), " \t\n") {
		return Finding{} // words without a path: at most a file named in a sentence
	}
	p := strings.ReplaceAll(asciiLower(s), "\\", "/")
	var best Finding
	keep := func(f Finding) {
		if f.better(best) {
			best = f
		}
	}
	// UNC paths and Windows device paths: \\host\c$\..., \\?\C:\...
	if strings.HasPrefix(strings.TrimSpace(p), "//") && (strings.Contains(p, "$/") || strings.HasPrefix(strings.TrimSpace(p), "//?/") || strings.HasPrefix(strings.TrimSpace(p), "//./")) && strings.HasPrefix(strings.TrimSpace(s), `\\`) {
		keep(Finding{Confidence: High, Why: "UNC path to an admin share"})
	}
	climbs, escapes := dotSegments(p)
	target := sensitiveTarget(p)
	absolute := isAbsolutePath(strings.TrimSpace(p))
	prose := t.isProse()
	switch {
	case escapes && target != "":
		keep(Finding{Confidence: High, Why: "traversal to " + target})
	case climbs >= 2 && target != "":
		keep(Finding{Confidence: High, Why: "dot segments to " + target})
	case absolute && target != "" && !prose && !strings.ContainsAny(strings.TrimSpace(p), " \t\n"):
		keep(Finding{Confidence: High, Why: "absolute path to " + target})
	case absolute && target != "" && !prose:
		keep(Finding{Confidence: Medium, Why: "absolute path to " + target + " in text"})
	case strings.HasPrefix(strings.TrimSpace(p), "file://") && !prose:
		keep(Finding{Confidence: High, Why: "file: URL"})
	case escapes && climbs >= 3 && !prose:
		keep(Finding{Confidence: High, Why: "traversal of " + itoa(climbs) + " levels"})
	case escapes && !prose:
		keep(Finding{Confidence: Medium, Why: "traversal"})
	case target != "" && !prose && !strings.ContainsAny(strings.TrimSpace(p), " \t\n"):
		// a value that is a path to a system file, relative or not
		keep(Finding{Confidence: Medium, Why: "path to " + target})
	case target != "" && (absolute || climbs > 0):
		keep(Finding{Confidence: Low, Why: "path to " + target + " in prose"})
	}
	return best
}

// dotSegments counts the ".." segments of p and reports whether they
// climb above where p starts (more of them than the names before them).
// "..;" (Tomcat's path parameter) and "..." count as "..".
func dotSegments(p string) (climbs int, escapes bool) {
	depth := 0
	for _, seg := range strings.Split(p, "/") {
		seg = strings.TrimSpace(seg)
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		switch {
		case seg == "" || seg == ".":
		case strings.Trim(seg, ".") == "" && len(seg) >= 2:
			climbs++
			depth--
			if depth < 0 {
				escapes = true
			}
		default:
			depth++
		}
	}
	return climbs, escapes
}

// sensitiveTarget is the sensitive file p names, or "".
func sensitiveTarget(p string) string {
	for _, f := range sensitiveFiles {
		i := strings.Index(p, f)
		if i < 0 {
			continue
		}
		// a whole path component: at the start or after a slash
		if i > 0 && p[i-1] != '/' && p[i-1] != ':' && f[0] != '.' {
			continue
		}
		end := i + len(f)
		if f[len(f)-1] != '/' && end < len(p) && (isIdentByte(p[end]) && p[end] != '_') {
			continue
		}
		return strings.TrimSuffix(f, "/")
	}
	return ""
}

// isAbsolutePath reports a Unix or Windows absolute path.
func isAbsolutePath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") ||
		len(p) > 2 && p[1] == ':' && p[2] == '/' && p[0] >= 'a' && p[0] <= 'z'
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
