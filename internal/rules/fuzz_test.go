package rules

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/geo"
	"github.com/parapet-waf/parapet/internal/netlist"
)

// FuzzRuleExpressions builds a rule from arbitrary matcher strings (path
// regex, header regex, CIDR, country, ASN, User-Agent pattern): the engine
// either refuses it with an error that points into rules[0], or builds a
// rule that can be checked against a request without panicking.
func FuzzRuleExpressions(f *testing.F) {
	for _, s := range [][7]string{
		{`(?i)\.php\d?$`, "Referer", `^https://evil\.example/`, "10.0.0.0/8", "DE", "AS15169", "sqlmap"},
		{`[`, "X-A", `(`, "1.2.3.4/33", "ZZ", "15169", ""},
		{`^/admin/`, "", "", "2001:db8::/32", "de", "ASX", "nikto"},
		{`a{1001}`, "Bad Header", ".*", "::ffff:1.2.3.4", "XX", "-1", "Go-http-client"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], s[6], "/admin/login/?next=/", "sqlmap/1.0")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	embedded, err := geo.Default()
	if err != nil {
		f.Fatal(err)
	}
	d := Deps{Feeds: netlist.NewRegistry(ctx, f.TempDir(), nil, nil), OpenGeo: func(p string) (*geo.DB, error) {
		if p == "" {
			return embedded, nil
		}
		return geo.Open(p)
	}}
	f.Fuzz(func(t *testing.T, pathRe, header, headerRe, cidr, country, asn, ua, path, reqUA string) {
		cfg := config.Default()
		r := config.Rule{ID: "fuzz", PathRegex: []string{pathRe}, IPs: []string{cidr}, Countries: []string{country},
			UserAgents: config.UserAgentMatch{Contains: []string{ua}}}
		if header != "" {
			r.Headers = map[string]string{header: headerRe}
		}
		if asn != "" {
			r.ASNs = []string{asn}
		}
		cfg.Rules = []config.Rule{r}
		e, err := New(cfg, d)
		if err != nil {
			var es config.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("refusal is not a list of config errors: %v", err)
			}
			for _, e := range es {
				if !strings.Contains(e.Error(), "rules[0]") && !strings.Contains(e.Error(), "geo") {
					t.Fatalf("error does not point at the rule: %v", e)
				}
			}
			return
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := httptest.NewRequest("GET", "http://example.com/", nil)
		req.URL.Path = path
		req.Header.Set("User-Agent", reqUA)
		if header != "" {
			req.Header.Set("X-Fuzz", headerRe)
		}
		info := &decision.Info{Scheme: "http", ClientIP: netip.MustParseAddr("10.1.2.3")}
		_ = e.Check(context.Background(), req, info)
	})
}
