package djangoproj

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// URLs is what the URLconf says about paths Parapet treats specially.
// Paths are prefixes that start and end with "/" (a route's converters
// and regex tail cut off).
type URLs struct {
	// Admin are where admin.site.urls is mounted.
	Admin []string
	// Login are login pages: django.contrib.auth.urls' login/ and routes
	// with "login" in them.
	Login []string
	// Webhooks are routes whose path says hook (webhooks/stripe/, hooks/github/).
	Webhooks []string
	// Files are the URLconf files read.
	Files []string
	// Notes are what could not be told.
	Notes []string
}

var webhookPath = regexp.MustCompile(`(?i)(^|/)[^/]*hook`)

// readURLs reads the URLconf module and the project's own modules it
// includes (with a literal string), up to a few levels deep.
func readURLs(root, module string) URLs {
	var u URLs
	u.read(root, module, "/", 0)
	for _, l := range []*[]string{&u.Admin, &u.Login, &u.Webhooks} {
		*l = dedupe(*l)
	}
	return u
}

func (u *URLs) read(root, module, prefix string, depth int) {
	file, _ := moduleFile(root, module)
	if file == "" {
		if depth == 0 {
			u.Notes = append(u.Notes, fmt.Sprintf("cannot find the URLconf %s", module))
		}
		return
	}
	src, err := os.ReadFile(file)
	if err != nil {
		u.Notes = append(u.Notes, fmt.Sprintf("cannot read %s: %v", file, err))
		return
	}
	rel, _ := filepath.Rel(root, file)
	u.Files = append(u.Files, rel)
	toks := tokenize(string(src))
	for i := 0; i+2 < len(toks); i++ {
		t := toks[i]
		if t.kind != tName || (t.text != "path" && t.text != "re_path" && t.text != "url") || toks[i+1].text != "(" {
			continue
		}
		if i > 0 && toks[i-1].text == "." { // os.path(...), not django.urls.path
			continue
		}
		end := closing(toks, i+1)
		args := toks[i+2 : end]
		if len(args) == 0 || args[0].kind != tString {
			continue
		}
		route := args[0].text
		if t.text != "path" {
			route = regexPrefix(route)
		} else if j := strings.IndexByte(route, '<'); j >= 0 {
			route = route[:j]
		}
		full := prefix + route
		mounts := false
		for k := 1; k < len(args); k++ {
			switch {
			case args[k].text == "admin" && k+4 < len(args) && args[k+1].text == "." && args[k+2].text == "site" && args[k+3].text == "." && args[k+4].text == "urls":
				u.Admin = append(u.Admin, full)
				mounts = true
			case args[k].text == "include" && k+2 < len(args) && args[k+1].text == "(":
				mounts = true
				if args[k+2].kind != tString {
					continue
				}
				mod := args[k+2].text
				switch {
				case mod == "django.contrib.auth.urls":
					u.Login = append(u.Login, full+"login/")
				case depth < 4:
					u.read(root, mod, full, depth+1)
				}
			}
		}
		if mounts {
			continue
		}
		if strings.Contains(strings.ToLower(route), "login") {
			u.Login = append(u.Login, full)
		}
		if webhookPath.MatchString(strings.TrimPrefix(full, "/")) {
			u.Webhooks = append(u.Webhooks, full)
		}
		i = end
	}
}

// closing returns the index of the bracket closing the one at open.
func closing(toks []token, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		switch toks[i].text {
		case "(", "[", "{":
			if toks[i].kind == tOp {
				depth++
			}
		case ")", "]", "}":
			if toks[i].kind == tOp {
				depth--
				if depth == 0 {
					return i
				}
			}
		}
	}
	return len(toks)
}

// regexPrefix is the literal start of a re_path/url regex ("^webhooks/stripe/$"
// -> "webhooks/stripe/"), up to its first special character.
func regexPrefix(re string) string {
	re = strings.TrimPrefix(re, "^")
	re = strings.TrimSuffix(re, "$")
	if j := strings.IndexAny(re, `\()[]{}?*+|.^$`); j >= 0 {
		re = re[:j]
		if k := strings.LastIndexByte(re, '/'); k >= 0 {
			re = re[:k+1]
		} else {
			re = ""
		}
	}
	return re
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
