package detect

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/parapet-waf/parapet/internal/config"
)

// base is Parapet's engine setup, in place of coraza.conf-recommended and
// crs-setup.conf: request phases only, no audit log, bodies held in
// memory, and the CRS variables set from the config. Coraza stops
// collecting arguments at SecArgumentsLimit, so a request with more
// arguments than Django accepts (DATA_UPLOAD_MAX_NUMBER_FIELDS, 1000) is
// blocked by CRS 920380 rather than hiding a payload past the limit.
const base = `
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit %[1]d
SecRequestBodyInMemoryLimit %[1]d
SecRequestBodyNoFilesLimit %[2]d
SecRequestBodyLimitAction ProcessPartial
SecRequestBodyJsonDepthLimit 512
SecArgumentsLimit 1001
SecResponseBodyAccess Off
SecAuditEngine Off
SecDefaultAction "phase:1,log,pass"
SecDefaultAction "phase:2,log,pass"
SecRule REQUEST_HEADERS:Content-Type "@rx ^application/(?:[a-z0-9.-]+\+)?json" "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQBODY_ERROR "!@eq 0" "id:200002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body',tag:'parapet-body'"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" "id:200003,phase:2,t:none,log,deny,status:400,msg:'Multipart request body failed strict validation',tag:'parapet-body'"
SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=%[3]d"
SecAction "id:900110,phase:1,pass,t:none,nolog,setvar:tx.inbound_anomaly_score_threshold=%[4]d"
SecAction "id:900120,phase:1,pass,t:none,nolog,setvar:tx.early_blocking=1"
SecAction "id:900200,phase:1,pass,t:none,nolog,setvar:'tx.allowed_methods=%[5]s'"
SecAction "id:900300,phase:1,pass,t:none,nolog,setvar:tx.max_num_args=1000"
SecAction "id:900990,phase:1,pass,t:none,nolog,setvar:tx.crs_setup_version=4250"
`

// crsFiles are the request-side CRS files; the response side is off (the
// harden stage's leak guard checks responses).
const crsFiles = `
Include @owasp_crs/REQUEST-901-INITIALIZATION.conf
Include @owasp_crs/REQUEST-905-COMMON-EXCEPTIONS.conf
Include @owasp_crs/REQUEST-911-METHOD-ENFORCEMENT.conf
Include @owasp_crs/REQUEST-913-SCANNER-DETECTION.conf
Include @owasp_crs/REQUEST-920-PROTOCOL-ENFORCEMENT.conf
Include @owasp_crs/REQUEST-921-PROTOCOL-ATTACK.conf
Include @owasp_crs/REQUEST-922-MULTIPART-ATTACK.conf
Include @owasp_crs/REQUEST-930-APPLICATION-ATTACK-LFI.conf
Include @owasp_crs/REQUEST-931-APPLICATION-ATTACK-RFI.conf
Include @owasp_crs/REQUEST-932-APPLICATION-ATTACK-RCE.conf
Include @owasp_crs/REQUEST-933-APPLICATION-ATTACK-PHP.conf
Include @owasp_crs/REQUEST-934-APPLICATION-ATTACK-GENERIC.conf
Include @owasp_crs/REQUEST-941-APPLICATION-ATTACK-XSS.conf
Include @owasp_crs/REQUEST-942-APPLICATION-ATTACK-SQLI.conf
Include @owasp_crs/REQUEST-943-APPLICATION-ATTACK-SESSION-FIXATION.conf
Include @owasp_crs/REQUEST-944-APPLICATION-ATTACK-JAVA.conf
Include @owasp_crs/REQUEST-949-BLOCKING-EVALUATION.conf
`

// djangoContentTypes is the Django profile's list of request content
// types: browsers' CSP and Reporting API reports, JSON media types
// (JSON:API, merge patches), and text/plain (navigator.sendBeacon,
// fetch() with a string body) besides CRS's list; the bodies are
// inspected like any other.
const djangoContentTypes = `
SecAction "id:900220,phase:1,pass,t:none,nolog,setvar:'tx.allowed_request_content_type=|application/x-www-form-urlencoded| |multipart/form-data| |text/xml| |application/xml| |application/soap+xml| |application/json| |application/csp-report| |application/reports+json| |application/vnd.api+json| |application/merge-patch+json| |application/json-patch+json| |application/problem+json| |text/plain| |application/octet-stream| |image/jpeg| |image/png| |image/gif| |image/webp| |application/pdf| |application/zip|'"
`

// djangoAdminRule is the Django profile's run-time exclusions for an admin
// site mounted at a prefix (%[1]s, a path ending in /; %[2]s, the same
// quoted for a regex), evaluated before the CRS rules, each scoped to a
// path and named fields. %[3]d, %[4]d and %[5]d are the rules' ids. Each
// applies only to a path plainly under the prefix (the chained
// cleanPathRule): /admin/login/../../search/ is not the admin, whatever
// the app or a server behind Parapet makes of it.
const djangoAdminRule = `
# Admin changelists: the filter state is carried as an encoded query string
# in _changelist_filters (and _popup / _to_field in related-object popups).
SecRule REQUEST_FILENAME "@beginsWith %[1]s" "id:%[3]d,phase:1,pass,t:none,nolog,tag:'parapet-django',chain"
  ` + cleanPathRule + `"t:none,\
ctl:ruleRemoveTargetByTag=OWASP_CRS;ARGS:_changelist_filters,\
ctl:ruleRemoveTargetByTag=OWASP_CRS;ARGS:_popup,\
ctl:ruleRemoveTargetByTag=OWASP_CRS;ARGS:_to_field"
# Admin add/change forms: rich text fields hold HTML written by staff. Only
# the XSS rules stop looking at the form's fields there (its query
# parameters are the ones excluded above); SQL injection, command injection
# and the rest still inspect them.
SecRule REQUEST_FILENAME "@rx ^%[2]s[a-z0-9_]+/[a-z0-9_]+/(?:add|[^/]+/change)/$" "id:%[4]d,phase:1,pass,t:none,nolog,tag:'parapet-django',chain"
  ` + cleanPathRule + `"t:none,\
ctl:ruleRemoveTargetByTag=attack-xss;ARGS:/./"
# Admin login: "next" holds a local path with a query string.
SecRule REQUEST_FILENAME "@beginsWith %[1]slogin/" "id:%[5]d,phase:1,pass,t:none,nolog,tag:'parapet-django',chain"
  ` + cleanPathRule + `"t:none,\
ctl:ruleRemoveTargetByTag=OWASP_CRS;ARGS:next"
`

// cleanPathRule is the chained condition of the admin exclusions: the
// decoded path has no dot segment, empty segment or backslash (the
// operator, with a space after it for the rule's actions).
const cleanPathRule = `SecRule REQUEST_FILENAME "!@rx (?:^|/)\.\.?(?:/|$)|//|\x5c" `

// djangoBefore is the Django profile's run-time exclusions, evaluated
// before the CRS rules: the content types, the admin exclusions for each
// admin site (detection.admin_paths; ids 4100001 on, three a site), and
// the form fields Django reads from POST bodies (ids 4100201 on).
func djangoBefore(adminPaths, passwordPaths []string) string {
	var b strings.Builder
	b.WriteString(djangoContentTypes)
	for i, p := range adminPaths {
		id := 4100001 + 3*i
		fmt.Fprintf(&b, djangoAdminRule, p, regexp.QuoteMeta(p), id, id+1, id+2)
	}
	b.WriteString(djangoFormFields(passwordPaths))
	return b.String()
}

// csrfField is the form field of Django's CSRF token, and passwordFields
// are the password fields of the auth forms of Django (login, password
// change and reset, admin user forms) and django-allauth (oldpassword).
const csrfField = "csrfmiddlewaretoken"

var passwordFields = []string{"password", "password1", "password2", "old_password", "new_password1", "new_password2", "oldpassword"}

// djangoFormFieldRules excludes the CSRF token and the password fields
// from the CRS only where Django reads them: fields of a urlencoded or
// multipart POST body (the only bodies Django parses into request.POST,
// by exact content type), named exactly so (Django's QueryDict is case
// sensitive); the password fields only on the password forms' paths
// (detection.password_paths, on a clean path: cleanPathRule). Coraza
// compares an exclusion's field name in any case and in the query string
// too, so a request that also carries a field spelled like one of them
// in another case (Password, CSRFMiddlewareToken), or in its query
// string, gets no exclusion at all: a real form never sends those. Values
// (%[1]s: the password fields' case variants, %[2]s: the CSRF field's,
// %[3]s: the password fields in any case, %[4]s: the password paths,
// %[5]s: the password fields' ctl actions).
const djangoFormFieldRules = `
SecRule ARGS_GET_NAMES "@rx ^(?i:csrfmiddlewaretoken)$" "id:4100201,phase:2,pass,t:none,nolog,tag:'parapet-django',setvar:tx.parapet_keep_csrf=1"
SecRule ARGS_POST_NAMES "@rx ^(?:%[2]s)$" "id:4100202,phase:2,pass,t:none,nolog,tag:'parapet-django',setvar:tx.parapet_keep_csrf=1"
SecRule ARGS_GET_NAMES "@rx ^(?i:%[3]s)$" "id:4100203,phase:2,pass,t:none,nolog,tag:'parapet-django',setvar:tx.parapet_keep_passwords=1"
SecRule ARGS_POST_NAMES "@rx ^(?:%[1]s)$" "id:4100204,phase:2,pass,t:none,nolog,tag:'parapet-django',setvar:tx.parapet_keep_passwords=1"
# The CSRF token: a random value Django makes and compares, read by
# CsrfViewMiddleware from POST form bodies only.
SecRule REQUEST_METHOD "@streq POST" "id:4100205,phase:2,pass,t:none,nolog,tag:'parapet-django',chain"
  SecRule &ARGS_POST:csrfmiddlewaretoken "@gt 0" "t:none,chain"
  SecRule REQUEST_HEADERS:Content-Type "@rx ^(?:application/x-www-form-urlencoded|multipart/form-data)(?:;|\s|$)" "t:none,chain"
  SecRule &TX:parapet_keep_csrf "@eq 0" "t:none,ctl:ruleRemoveTargetByTag=OWASP_CRS;ARGS:csrfmiddlewaretoken"
# Password fields of the auth forms: hashed or compared, never
# interpreted, and may hold anything.
SecRule REQUEST_METHOD "@streq POST" "id:4100206,phase:2,pass,t:none,nolog,tag:'parapet-django',chain"
  SecRule REQUEST_HEADERS:Content-Type "@rx ^(?:application/x-www-form-urlencoded|multipart/form-data)(?:;|\s|$)" "t:none,chain"
  SecRule &TX:parapet_keep_passwords "@eq 0" "t:none,chain"
  SecRule REQUEST_FILENAME "@rx %[4]s" "t:none,chain"
  ` + cleanPathRule + `"t:none,%[5]s"
`

// djangoFormFields compiles djangoFormFieldRules for the password paths
// (none: the password fields are inspected everywhere).
func djangoFormFields(passwordPaths []string) string {
	ctls := make([]string, len(passwordFields))
	for i, f := range passwordFields {
		ctls[i] = "ctl:ruleRemoveTargetByTag=OWASP_CRS;ARGS:" + f
	}
	paths := "(?:" + strings.Join(passwordPaths, ")|(?:") + ")"
	if len(passwordPaths) == 0 {
		paths = "^$" // never a path
	}
	return fmt.Sprintf(djangoFormFieldRules, caseVariants(passwordFields), caseVariants([]string{csrfField}),
		strings.Join(passwordFields, "|"), paths, strings.Join(ctls, ","))
}

// caseVariants is a regex alternation matching the names spelled in
// another case, and not the names themselves: a name (lower case letters,
// digits, _) whose first upper-case letter is at position i is the name's
// first i bytes, then that letter in upper case, then the rest in any
// case.
func caseVariants(names []string) string {
	var alts []string
	for _, n := range names {
		for i := 0; i < len(n); i++ {
			if c := n[i]; c >= 'a' && c <= 'z' {
				alt := regexp.QuoteMeta(n[:i]) + string(c-'a'+'A')
				if rest := n[i+1:]; rest != "" {
					alt += "(?i:" + regexp.QuoteMeta(rest) + ")"
				}
				alts = append(alts, alt)
			}
		}
	}
	return strings.Join(alts, "|")
}

// djangoAfter are the Django profile's start-up exclusions (applied to
// the loaded rules): values Django generates or never interprets.
const djangoAfter = `
# CSRF token (header), session and messages cookies: random or signed
# values made by Django, never interpreted as code. (The CSRF form field
# and the password fields are excluded at run time where Django reads
# them: djangoFormFieldRules.)
SecRuleUpdateTargetByTag OWASP_CRS "!REQUEST_COOKIES:csrftoken|!REQUEST_COOKIES:sessionid|!REQUEST_COOKIES:messages|!REQUEST_HEADERS:x-csrftoken"
# The cookies' names as well: an excluded name is that word (in any case),
# which no CRS rule matches at any paranoia level
# (TestDjangoCookieNamesMatchNothing), so matching it on every request is
# pure cost. (Not ARGS_NAMES:csrfmiddlewaretoken: rule 921170 counts
# argument names to find a parameter sent twice.)
SecRuleUpdateTargetByTag OWASP_CRS "!REQUEST_COOKIES_NAMES:csrftoken|!REQUEST_COOKIES_NAMES:sessionid|!REQUEST_COOKIES_NAMES:messages"
`

// constantLogData replaces the CRS rules' logdata ("Matched Data: %{TX.0}
// found within %{MATCHED_VAR_NAME}: ...") with a constant. Coraza expands
// a rule's logdata every time the rule is evaluated, match or not (a
// tenth of the CPU of a typical GET), and Parapet never reports it: a
// decision names the rules and the variables that matched, not the
// matched data, which may be a password or a token. Matching is
// unchanged. The 949 verdict rules keep theirs.
const constantLogData = `
SecRuleUpdateActionById 911000-948999 "logdata:'-'"
`

// windowsShellRules are the CRS rules for Windows cmd.exe command
// injection after a line break or separator (932370 on arguments, 932371
// on headers and file names). They stay on only with
// detection.windows_host: on the Linux hosts Django usually runs on
// (Heroku, containers) there is no cmd.exe, and 932370 fires on code
// snippets in text fields (a newline followed by "print" or "set"). The
// PowerShell alias rule 932125, which also catches "; rm -rf /", stays.
const windowsShellRules = `
SecRuleRemoveById 932370 932371
`

// exclusionRules compiles the user's exclusions into SecLang: global ones
// are applied to the loaded rules at start-up (after), path-scoped ones
// are run-time ctl actions evaluated before the CRS rules (before).
func exclusionRules(excl []config.DetectionExclusion, nextID func() int) (before, after string) {
	var b, a strings.Builder
	for _, e := range excl {
		selectors := selectorList(e)
		if len(e.Paths) == 0 {
			for _, s := range selectors {
				switch {
				case len(e.Fields) == 0 && s.byTag:
					fmt.Fprintf(&a, "SecRuleRemoveByTag %s\n", quoteArg(s.value))
				case len(e.Fields) == 0:
					fmt.Fprintf(&a, "SecRuleRemoveById %s\n", s.value)
				case s.byTag:
					fmt.Fprintf(&a, "SecRuleUpdateTargetByTag %s \"%s\"\n", quoteArg(s.value), negatedFields(e.Fields))
				default:
					fmt.Fprintf(&a, "SecRuleUpdateTargetById %s \"%s\"\n", s.value, negatedFields(e.Fields))
				}
			}
			continue
		}
		var ctls []string
		for _, s := range selectors {
			switch {
			case len(e.Fields) == 0 && s.byTag:
				ctls = append(ctls, "ctl:ruleRemoveByTag="+s.value)
			case len(e.Fields) == 0:
				ctls = append(ctls, "ctl:ruleRemoveById="+s.value)
			default:
				for _, f := range e.Fields {
					if s.byTag {
						ctls = append(ctls, "ctl:ruleRemoveTargetByTag="+s.value+";"+f)
					} else {
						ctls = append(ctls, "ctl:ruleRemoveTargetById="+s.value+";"+f)
					}
				}
			}
		}
		fmt.Fprintf(&b, "SecRule REQUEST_FILENAME \"@rx %s\" \"id:%d,phase:1,pass,t:none,nolog,tag:'parapet-exclusion',%s\"\n",
			pathPrefixRegex(e.Paths), nextID(), strings.Join(ctls, ","))
	}
	return b.String(), a.String()
}

type selector struct {
	value string
	byTag bool
}

// selectorList is the rules an exclusion names; none means every CRS rule.
func selectorList(e config.DetectionExclusion) []selector {
	var out []selector
	for _, id := range e.RuleIDs {
		out = append(out, selector{value: id})
	}
	for _, t := range e.Tags {
		out = append(out, selector{value: t, byTag: true})
	}
	if len(out) == 0 {
		out = append(out, selector{value: "OWASP_CRS", byTag: true})
	}
	return out
}

func negatedFields(fields []string) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = "!" + f
	}
	return strings.Join(parts, "|")
}

func quoteArg(s string) string { return `"` + s + `"` }

// pathPrefixRegex matches any of the path prefixes.
func pathPrefixRegex(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = regexp.QuoteMeta(p)
	}
	return "^(?:" + strings.Join(q, "|") + ")"
}

// directive is one logical line of user SecLang and the line (0-based,
// within the directives text) it starts on.
type directive struct {
	text string
	line int
}

// splitDirectives splits SecLang into logical directives (joining
// backslash continuations), skipping blanks and comments.
func splitDirectives(s string) []directive {
	var out []directive
	var cur strings.Builder
	start := -1
	for i, raw := range strings.Split(s, "\n") {
		line := strings.TrimSpace(raw)
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if start < 0 {
			start = i
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		cur.WriteString(line)
		out = append(out, directive{text: cur.String(), line: start})
		cur.Reset()
		start = -1
	}
	if cur.Len() > 0 {
		out = append(out, directive{text: cur.String(), line: start})
	}
	return out
}
