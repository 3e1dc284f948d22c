package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Detection configures attack detection: the OWASP Core Rule Set run by
// Coraza on request headers and bodies, with Parapet's Django profile.
type Detection struct {
	// Enabled turns attack detection on.
	Enabled bool `yaml:"enabled"`
	// Mode is enforce (block attacks) or monitor (log what would have been
	// blocked and let the request through).
	Mode string `yaml:"mode"`
	// ParanoiaLevel is the CRS paranoia level, 1 (few false positives) to 4
	// (most rules, expect to write exclusions).
	ParanoiaLevel int `yaml:"paranoia_level"`
	// InboundThreshold is the CRS inbound anomaly score at which a request
	// is blocked (a critical rule scores 5, an error 4, a warning 3).
	InboundThreshold int `yaml:"inbound_threshold"`
	// OutboundThreshold is the CRS outbound anomaly score at which a
	// response is replaced by the generic error page (CRS default 4: any
	// one error-leak rule). It only applies with detection.responses.enabled.
	OutboundThreshold int `yaml:"outbound_threshold"`
	// Responses turns on the CRS response rules (SQL, Java, PHP, IIS and
	// Ruby error leaks, web shells): off by default, they cost CPU on every
	// inspected response.
	Responses DetectionResponses `yaml:"responses"`
	// BodyLimit is how much of a request body (urlencoded form, JSON, any
	// type but multipart) is buffered and inspected (inspected bodies reach the app byte for byte). Every
	// field is matched against the rule set, which costs CPU in proportion
	// (about 0.5 s for 1 MB of form fields), hence ModSecurity's 128KB.
	// The text of a multipart body (field names and values, file names,
	// part headers; not file contents) is held to it too.
	BodyLimit ByteSize `yaml:"body_limit"`
	// MultipartLimit is how much of a multipart/form-data body is held in
	// memory; the rest is spooled to a temporary file. A multipart body is
	// read to its end whatever its size (up to limits.max_body_bytes), as
	// Django reads it: every text field is inspected, file contents are
	// skipped.
	MultipartLimit ByteSize `yaml:"multipart_limit"`
	// MaxConcurrent is how many requests are inspected at once (0: twice
	// the CPUs). Inspection is CPU bound, so more at once only multiplies
	// the memory each holds; others wait (their bodies already received).
	MaxConcurrent int `yaml:"max_concurrent"`
	// BodyOverLimit is what happens to a body, or a multipart body's text,
	// larger than BodyLimit: reject (413, the default) or pass
	// (forwarded uninspected; headers and query are still inspected).
	BodyOverLimit string `yaml:"body_over_limit"`
	// MultipartOverLimit is what happens to a multipart body larger than
	// MultipartLimit: pass (spooled to a temporary file, still inspected)
	// or reject (413). Neither lets a text field through uninspected.
	MultipartOverLimit string `yaml:"multipart_over_limit"`
	// DataUploadMaxMemorySize is the app's DATA_UPLOAD_MAX_MEMORY_SIZE
	// (Django's default 2560KB; 0 for None). A body declared as a file
	// (application/octet-stream that is not text, an image or archive
	// starting with its signature) is read as the form a view's
	// QueryDict(request.body) would make of it, and the fields a view can
	// ask for are inspected, unless Django cannot read it: its length over
	// this, or more fields than DataUploadMaxNumberFields. Set both as the
	// app does: a larger value in the app than here lets such a body
	// through uninspected.
	DataUploadMaxMemorySize ByteSize `yaml:"data_upload_max_memory_size"`
	// DataUploadMaxNumberFields is the app's DATA_UPLOAD_MAX_NUMBER_FIELDS
	// (Django's default 1000; 0 for None): see DataUploadMaxMemorySize.
	DataUploadMaxNumberFields int `yaml:"data_upload_max_number_fields"`
	// SkipPaths are path prefixes (static files: /static/, /media/) whose
	// GET and HEAD requests skip detection. Other methods are still inspected.
	SkipPaths []string `yaml:"skip_paths"`
	// DjangoProfile adds Parapet's exclusions for Django: CSRF tokens and
	// session cookies, admin changelist filters and rich text, password
	// fields, DRF and JSON bodies, file uploads. Each is scoped to named
	// fields and paths. With Responses on, it also adds response rules for
	// PostgreSQL (psycopg2) and SQLite (Python sqlite3) error messages.
	DjangoProfile bool `yaml:"django_profile"`
	// AdminPaths are where the app mounts Django's admin site (path
	// prefixes ending in /): the Django profile's admin exclusions
	// (changelist filters, rich text in add/change forms, the login's
	// next) apply under them. Sites that move the admin off /admin/ list
	// its path here.
	AdminPaths []string `yaml:"admin_paths"`
	// PasswordPaths are where the app's password forms post (RE2 regexes
	// on the decoded path): the Django profile stops inspecting the
	// password fields (password, password1, password2, old_password,
	// new_password1, new_password2, oldpassword) of urlencoded and
	// multipart POST bodies there, and only there. The defaults cover
	// Django's auth views and admin, django-allauth and
	// django-registration wherever they are mounted.
	PasswordPaths []string `yaml:"password_paths"`
	// WindowsHost keeps the CRS rules against cmd.exe command injection
	// after a line break (932370, 932371), off by default: Django on
	// Heroku and in containers runs on Linux, and these rules fire on
	// code snippets typed into text fields.
	WindowsHost bool `yaml:"windows_host"`
	// Analyzer turns on the second detection stage (internal/analyze):
	// every value decoded as the app might decode it (URL, base64, HTML
	// entities, JavaScript escapes ...) and parsed per attack class. It
	// blocks alone on a value that parses as a break-out with high
	// confidence, confirms the CRS on the same field, and a CRS match on
	// natural-language text counts only with its agreement. Off: the CRS
	// decides alone, by its anomaly score.
	Analyzer bool `yaml:"analyzer"`
	// Exclusions stop rules from firing on fields or paths of your app.
	Exclusions []DetectionExclusion `yaml:"exclusions"`
	// Directives is raw SecLang added after the rule set and the exclusions,
	// for anything the keys above cannot say.
	Directives string `yaml:"directives"`
}

// DetectionResponses configures outbound (response) inspection: the
// upstream's status and headers, and a bounded prefix of textual bodies
// (gzip, br and deflate decompressed), run through the CRS RESPONSE-95x
// rules and scored against Detection.OutboundThreshold.
type DetectionResponses struct {
	// Enabled inspects responses (default off).
	Enabled bool `yaml:"enabled"`
	// BodyLimit is how much of a response body is inspected (after
	// decompression); the rest streams to the client uninspected.
	BodyLimit ByteSize `yaml:"body_limit"`
	// ContentTypes are the media types whose bodies are inspected;
	// other responses (images, downloads, event streams) only have their
	// status and headers checked.
	ContentTypes []string `yaml:"content_types"`
}

// DetectionExclusion is one exclusion in plain terms. The rules it names
// (by id, id range or tag; none: every CRS rule) stop looking at Fields
// on Paths (none: everywhere). Without Fields the rules are turned off on
// those paths.
type DetectionExclusion struct {
	// RuleIDs are CRS rule ids ("942100") or ranges ("942100-942199").
	RuleIDs []string `yaml:"rule_ids"`
	// Tags are CRS rule tags ("attack-sqli", "paranoia-level/2").
	Tags []string `yaml:"tags"`
	// Paths are path prefixes the exclusion applies to.
	Paths []string `yaml:"paths"`
	// Fields are targets the rules no longer inspect: ARGS:comment,
	// ARGS_GET:q, ARGS_POST:body, REQUEST_COOKIES:prefs,
	// REQUEST_HEADERS:X-Custom, ARGS:/^json\.items\.\d+\.note$/.
	Fields []string `yaml:"fields"`
}

// maxAdminPaths bounds detection.admin_paths (each takes three rule ids
// below the Django profile's response rules).
const maxAdminPaths = 30

// Detection modes and over-limit policies.
const (
	OverLimitReject = "reject"
	OverLimitPass   = "pass"
)

var (
	ruleIDRange     = regexp.MustCompile(`^[0-9]{1,9}(-[0-9]{1,9})?$`)
	detectTag       = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)
	detectField     = regexp.MustCompile(`^(ARGS|ARGS_GET|ARGS_POST|ARGS_NAMES|ARGS_GET_NAMES|ARGS_POST_NAMES|REQUEST_COOKIES|REQUEST_COOKIES_NAMES|REQUEST_HEADERS|FILES|FILES_NAMES|XML|REQUEST_BODY|REQUEST_URI|REQUEST_FILENAME|REQUEST_BASENAME|QUERY_STRING)(:([A-Za-z0-9_.\-\[\]]+|/[^\s"']+/))?$`)
	detectPathChars = regexp.MustCompile(`^/[^\s"'\\]*$`)
)

// validateDetection checks the detection section; Coraza itself checks the
// raw directives when the chain is built.
func (c *Config) validateDetection(bad func(path, format string, args ...any)) {
	d := c.Detection
	if d.Mode != "" && d.Mode != "enforce" && d.Mode != "monitor" {
		bad("detection.mode", "%q must be enforce or monitor", d.Mode)
	}
	if d.ParanoiaLevel < 1 || d.ParanoiaLevel > 4 {
		bad("detection.paranoia_level", "%d must be 1, 2, 3 or 4", d.ParanoiaLevel)
	}
	if d.InboundThreshold < 1 {
		bad("detection.inbound_threshold", "%d must be at least 1 (CRS default 5: one critical rule)", d.InboundThreshold)
	}
	if d.OutboundThreshold < 1 {
		bad("detection.outbound_threshold", "%d must be at least 1 (CRS default 4: one error-leak rule)", d.OutboundThreshold)
	}
	c.validateDetectionResponses(bad)
	if d.MaxConcurrent < 0 {
		bad("detection.max_concurrent", "%d must not be negative (0: twice the CPUs)", d.MaxConcurrent)
	}
	for _, l := range []struct {
		path string
		v    ByteSize
	}{{"detection.body_limit", d.BodyLimit}, {"detection.multipart_limit", d.MultipartLimit}} {
		if l.v < 1024 {
			bad(l.path, "%v is too small (at least 1KB)", l.v)
		} else if l.v > 64<<20 {
			bad(l.path, "%v is too large (at most 64MB: inspected bodies are held in memory)", l.v)
		}
	}
	for _, p := range []struct{ path, v string }{
		{"detection.body_over_limit", d.BodyOverLimit},
		{"detection.multipart_over_limit", d.MultipartOverLimit},
	} {
		if p.v != OverLimitReject && p.v != OverLimitPass {
			bad(p.path, "%q must be reject or pass", p.v)
		}
	}
	if d.DataUploadMaxNumberFields < 0 {
		bad("detection.data_upload_max_number_fields", "%d must not be negative (0: None, no limit)", d.DataUploadMaxNumberFields)
	}
	for i, p := range d.SkipPaths {
		if !detectPathChars.MatchString(p) {
			bad(fmt.Sprintf("detection.skip_paths[%d]", i), "%q must start with / and hold no spaces or quotes", p)
		}
	}
	if len(d.AdminPaths) > maxAdminPaths {
		bad("detection.admin_paths", "%d paths: at most %d admin sites", len(d.AdminPaths), maxAdminPaths)
	}
	for i, p := range d.AdminPaths {
		// Not "/" (the whole site), nor %, { or } (a percent-encoded path
		// never equals a decoded one; %{...} would be expanded as a macro).
		if !detectPathChars.MatchString(p) || p == "/" || !strings.HasSuffix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, "%{}") {
			bad(fmt.Sprintf("detection.admin_paths[%d]", i), "%q must start and end with / (/admin/, /staff-area/), not be / itself, and hold no spaces, quotes, %%, { or }", p)
		}
	}
	for i, p := range d.PasswordPaths {
		// Compiled into a SecLang rule: no quotes, no %{ (a macro) and
		// no line breaks.
		if _, err := regexp.Compile(p); err != nil || p == "" || strings.ContainsAny(p, "\"\n\r") || strings.Contains(p, "%{") {
			bad(fmt.Sprintf("detection.password_paths[%d]", i), "%q must be a regex (RE2) on the path, without double quotes, %%{ or line breaks", p)
		}
	}
	for i, e := range d.Exclusions {
		base := fmt.Sprintf("detection.exclusions[%d]", i)
		if len(e.RuleIDs) == 0 && len(e.Tags) == 0 && len(e.Fields) == 0 {
			bad(base, "an exclusion needs rule_ids, tags or fields (turning every rule off is detection.enabled: false)")
		}
		if len(e.RuleIDs) > 0 && len(e.Tags) > 0 {
			bad(base, "give rule_ids or tags, not both (write two exclusions)")
		}
		for j, id := range e.RuleIDs {
			if !ruleIDRange.MatchString(id) {
				bad(fmt.Sprintf("%s.rule_ids[%d]", base, j), "%q is not a rule id (942100) or range (942100-942199)", id)
				continue
			}
			lo, hi, isRange := strings.Cut(id, "-")
			if a, _ := strconv.Atoi(lo); a == 0 {
				// Coraza gives every SecMarker id 0: without its markers
				// a CRS skip never ends (901's sampling skip then passes
				// over the whole rule set: review 14).
				bad(fmt.Sprintf("%s.rule_ids[%d]", base, j), "%q: rule ids start at 1 (id 0 is every SecMarker's; removing it turns detection off)", id)
			} else if b, _ := strconv.Atoi(hi); isRange && a > b {
				bad(fmt.Sprintf("%s.rule_ids[%d]", base, j), "%q: the range is backwards", id)
			}
		}
		for j, t := range e.Tags {
			if !detectTag.MatchString(t) {
				bad(fmt.Sprintf("%s.tags[%d]", base, j), "%q is not a rule tag (attack-sqli, paranoia-level/2)", t)
			}
		}
		for j, p := range e.Paths {
			if !detectPathChars.MatchString(p) {
				bad(fmt.Sprintf("%s.paths[%d]", base, j), "%q must start with / and hold no spaces or quotes", p)
			}
		}
		for j, f := range e.Fields {
			if !detectField.MatchString(f) {
				bad(fmt.Sprintf("%s.fields[%d]", base, j), "%q is not a field such as ARGS:comment, REQUEST_COOKIES:prefs or REQUEST_HEADERS:X-Token", f)
			}
		}
	}
}

// DefaultDetection is detection as Parapet ships it: on, enforcing, CRS
// paranoia level 1 with the Django profile.
func DefaultDetection() Detection {
	return Detection{
		Enabled:           true,
		Mode:              "enforce",
		ParanoiaLevel:     1,
		InboundThreshold:  5,
		OutboundThreshold: 4,
		Responses: DetectionResponses{
			BodyLimit:    64 << 10,
			ContentTypes: []string{"text/html", "text/plain", "application/json", "application/xml", "text/xml", "application/xhtml+xml"},
		},
		BodyLimit:          128 << 10,
		MultipartLimit:     2 << 20,
		BodyOverLimit:      OverLimitReject,
		MultipartOverLimit: OverLimitPass,
		// django/conf/global_settings.py (Django 3.2)
		DataUploadMaxMemorySize:   2621440,
		DataUploadMaxNumberFields: 1000,
		DjangoProfile:             true,
		AdminPaths:                []string{"/admin/"},
		Analyzer:                  true,
		PasswordPaths:             DefaultPasswordPaths(),
	}
}

// DefaultPasswordPaths are the default detection.password_paths: the
// paths of the password forms of Django's auth views and admin (login,
// password change, password reset confirmation, adding a user, setting a
// user's password), django-allauth (login, signup, password change, set
// and reset) and django-registration, wherever the app mounts them.
func DefaultPasswordPaths() []string {
	return []string{
		`/(?:login|log-in|signin|sign-in|signup|sign-up|register|registration)/$`,
		`/password(?:_change|/change|/set)/$`,
		`/reset/[^/]+/[^/]+/$`,
		`/password/reset/key/[^/]+/$`,
		`/auth/user/(?:add|[^/]+/password)/$`,
	}
}

// mediaType is a lower-case type/subtype with no parameters.
var mediaType = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$`)

func (c *Config) validateDetectionResponses(bad func(path, format string, args ...any)) {
	r := c.Detection.Responses
	if r.BodyLimit < 1024 {
		bad("detection.responses.body_limit", "%v is too small (at least 1KB)", r.BodyLimit)
	} else if r.BodyLimit > 16<<20 {
		bad("detection.responses.body_limit", "%v is too large (at most 16MB: inspected responses are held in memory)", r.BodyLimit)
	}
	if r.Enabled && len(r.ContentTypes) == 0 {
		bad("detection.responses.content_types", "empty: list the media types to inspect (text/html, application/json, ...)")
	}
	for i, t := range r.ContentTypes {
		if !mediaType.MatchString(t) {
			bad(fmt.Sprintf("detection.responses.content_types[%d]", i), "%q is not a lower-case media type such as text/html (no parameters)", t)
		}
	}
}
