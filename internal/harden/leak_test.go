package harden

import (
	"regexp"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
)

// secretRegexes state the secret shapes as regular expressions: the guard's
// probes and checks must find exactly what these find.
var secretRegexes = []*regexp.Regexp{
	regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`),
	regexp.MustCompile(`-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----`),
	regexp.MustCompile(`\b(?:postgres|postgresql|mysql|redis|rediss|amqp)://[^\s:@/"'<>]+:[^\s@/"'<>]+@`),
	regexp.MustCompile(`SECRET_KEY\s*=\s*['"][^'"]{8,}`),
}

func regexFindsSecret(text []byte) bool {
	for _, re := range secretRegexes {
		if re.Match(text) {
			return true
		}
	}
	return false
}

func shapesFindSecret(text []byte) bool {
	for _, s := range secretShapes {
		if eachIndex(text, s.probe, s.at) {
			return true
		}
	}
	return false
}

var secretSamples = []struct {
	text   string
	secret bool
}{
	{`{"key": "AKIAIOSFODNN7EXAMPLE"}`, true},
	{`ASIAIOSFODNN7EXAMPLE`, true},
	{`xAKIAIOSFODNN7EXAMPLE`, false},    // not at a word start
	{`AKIAIOSFODNN7EXAMPLEX`, false},    // 17 characters
	{`AKIAIOSFODNN7EXAMPL`, false},      // 15
	{`AKIAiOSFODNN7EXAMPLE`, false},     // lower case
	{`ASIA AKIAIOSFODNN7EXAMPLE`, true}, // a second hit after a miss
	{"-----BEGIN RSA PRIVATE KEY-----\nMIIE", true},
	{"-----BEGIN PRIVATE KEY-----", true},
	{"-----BEGIN OPENSSH PRIVATE KEY-----", true},
	{"-----BEGIN PUBLIC KEY-----", false},
	{"-----BEGIN FOO PRIVATE KEY-----", false},
	{"DATABASE_URL=postgres://app:s3cr3t@db.internal:5432/app", true},
	{"postgresql://u:p:q@h", true},
	{"rediss://:password@host", false}, // empty user
	{"redis://default:pw@host", true},
	{"amqp://guest:guest@rabbit", true},
	{"mysql://root@localhost", false}, // no password
	{"xmysql://root:pw@localhost", false},
	{"see https://user:pass@example.com", false}, // not a database scheme
	{`<a href="https://example.com/redis">redis and postgres and mysql</a>`, false},
	{"postgres://app:s3cr3t/db@", false},
	{`SECRET_KEY = 'django-insecure-abc123'`, true},
	{`DJANGO_SECRET_KEY="0123456789"`, true},
	{`SECRET_KEY = 'short'`, false},
	{`SECRET_KEY = os.environ["SECRET_KEY"]`, false},
	{`the SECRET_KEY setting`, false},
}

func TestSecretShapes(t *testing.T) {
	for _, c := range secretSamples {
		if got := shapesFindSecret([]byte(c.text)); got != c.secret {
			t.Errorf("%q: found secret %v, want %v", c.text, got, c.secret)
		}
		if re := regexFindsSecret([]byte(c.text)); re != c.secret {
			t.Errorf("%q: the reference regexes say %v: fix the sample", c.text, re)
		}
	}
}

// FuzzSecretShapes checks the fast probes against the reference regexes.
func FuzzSecretShapes(f *testing.F) {
	for _, c := range secretSamples {
		f.Add(c.text)
	}
	f.Add(strings.Repeat("Parapet benchmark page. ", 4))
	f.Fuzz(func(t *testing.T, text string) {
		if got, want := shapesFindSecret([]byte(text)), regexFindsSecret([]byte(text)); got != want {
			t.Fatalf("%q: probes say %v, regexes %v", text, got, want)
		}
	})
}

func TestDebugPageMarker(t *testing.T) {
	g, err := newLeakGuard(config.LeakGuard{})
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]string{
		"You're seeing this error because you have <code>DEBUG = True</code> in your Django settings file.": RuleLeakDebugPage,
		"Set <code>DEBUG = True</code> only in development.":                                                "",
		"DEBUG = True</code> because you have <code>DEBUG = True</code>":                                    RuleLeakDebugPage,
	} {
		if got := g.find([]byte(text)).rule; got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}
