package detect

// Review 11: a hostile look at review 10's addXMLArgs (nothing expanded,
// <!ENTITY refused, a body claiming XML that encoding/xml cannot read to
// its end refused, other markup read leniently).
//
// Each test failed on the tree it was written against.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/decision"
)

// TestReview11DoctypeDirectiveSwallowsDocument: finding 1 (HIGH, a
// bypass). encoding/xml reads a <!DOCTYPE ...> as one Directive token,
// scanned for its closing '>' by counting '<' and '>' (and skipping
// quoted runs) everywhere in it, processing instructions of the internal
// subset included. expat reads a PI (<?pi ... ?>) as ending at "?>" only:
// a '<' or a quote inside it is text. So with <?pi < ?> in the internal
// subset Go's nesting count stays one too deep at the subset's "]>", and
// the Directive goes on over the root element, its payload and its end
// tag, and ends at a '>' inside a PI after the root (<?x > ?>). Go then
// reads to EOF without an error: no field at all, no refusal, although
// the body claims XML (the DOCTYPE). ElementTree.fromstring and
// defusedxml (forbid_dtd is off by default) read <a>'s text as the
// payload. A quote does the same (<?pi ' ?> ... <?x ' > ?>).
//
// Under the default config libinjection (941100) flags every DOCTYPE on
// the form reading, so these bodies are blocked for that; under the
// exclusion README asks of an XML API (941100/941130 on its path) they
// pass.
func TestReview11DoctypeDirectiveSwallowsDocument(t *testing.T) {
	refs := xmlRefs(review10SQLi)
	bodies := map[string]string{
		"lt in a PI":         `<!DOCTYPE a [<?pi < ?>]><a>` + refs + `</a><?x > ?>`,
		"quote in a PI":      `<!DOCTYPE a [<?pi ' ?>]><a>` + refs + `</a><?x ' > ?>`,
		"with a declaration": `<?xml version="1.0"?><!DOCTYPE a [<?pi < ?>]><a><q>` + refs + `</q></a><?x > ?>`,
	}
	s := stageFromYAML(t, review10XMLAPI)
	for name, body := range bodies {
		m := argsMap{}
		err := addXMLArgs(m, []byte(body), true)
		found := false
		for _, vs := range m {
			for _, v := range vs {
				found = found || strings.Contains(v, review10SQLi)
			}
		}
		if !found && err == nil {
			t.Errorf("%s: addXMLArgs read %q and no error: the payload expat reads is neither a field nor refused", name, m)
		}
		review10Blocked(t, s, name, body)
	}
}

// TestReview11ManyValuesTrip920380: finding 2 (MEDIUM, false positive).
// addXMLArgs adds up to 1000 fields (maxJSONArgs) to ARGS_POST, where
// CRS 920380 counts them with the form reading's pieces against
// tx.max_num_args (1000, set for Django's DATA_UPLOAD_MAX_NUMBER_FIELDS,
// which no XML view is held to). So every XML body with 1000 or more
// non-blank texts and attributes (fewer when it holds '&') is refused
// 403 even on an XML API path: a sitemap of 500 URLs (a <loc> and a
// <lastmod> each), an RSS feed of 400 items. Before addXMLArgs an XML
// body was one or a few form pieces.
func TestReview11ManyValuesTrip920380(t *testing.T) {
	var sm strings.Builder
	sm.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n")
	for k := range 500 {
		fmt.Fprintf(&sm, "<url><loc>https://example.com/p/%d</loc><lastmod>2024-01-01</lastmod></url>\n", k)
	}
	sm.WriteString("</urlset>\n")
	var rss strings.Builder
	rss.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>T</title>")
	for k := range 400 {
		fmt.Fprintf(&rss, "<item><title>Post %d</title><link>https://example.com/%d</link><description>Hello</description></item>", k, k)
	}
	rss.WriteString("</channel></rss>")
	s := stageFromYAML(t, review10XMLAPI)
	for name, body := range map[string]string{"sitemap of 500 URLs": sm.String(), "RSS of 400 items": rss.String()} {
		for _, ct := range []string{"application/xml", "text/xml"} {
			r := browserRequest("POST", "/api/xml/", strings.NewReader(body))
			r.Header.Set("Content-Type", ct)
			if o := observed(s, r); o.action != decision.Allow {
				t.Errorf("%s (%s, %d bytes): %s %s %v, want allowed", name, ct, len(body), o.action, o.ruleID, o.rules)
			}
		}
	}
}
