package detect

import (
	"strings"
	"testing"
)

// CRS 920450 matches every header name on its way to the one on the
// restricted list (a chained rule: the first link captures each name, the
// second checks it). The reason logged for it must name the header that is
// restricted, not every header the request carried (issue #19: the log line
// listed User-Agent, Accept, Accept-Language... beside Content-Range).
func TestRestrictedHeaderReasonNamesOnlyThatHeader(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  mode: enforce\n")
	for _, h := range []string{"Content-Range", "X-HTTP-Method-Override"} {
		r := browserRequest("GET", "/articles/", nil)
		r.Header.Set(h, "1")
		d := s.Check(r.Context(), r, info())
		if !d.Decided() || !strings.Contains(strings.Join(d.Rules, ","), "920450") {
			t.Fatalf("%s: not blocked by 920450: %+v", h, d)
		}
		want := "REQUEST_HEADERS_NAMES:" + strings.ToLower(h)
		if !strings.Contains(d.Reason, want) {
			t.Errorf("%s: reason %q does not name %s", h, d.Reason, want)
		}
		for _, other := range []string{"user-agent", "accept-language", "accept"} {
			if strings.Contains(d.Reason, "REQUEST_HEADERS_NAMES:"+other+"]") || strings.Contains(d.Reason, "REQUEST_HEADERS_NAMES:"+other+",") {
				t.Errorf("%s: reason names the harmless header %s too: %q", h, other, d.Reason)
			}
		}
	}
}
