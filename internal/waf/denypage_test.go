package waf

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/challenge"
)

// pageReason asks for path as an API client (the deny page in JSON) and
// returns the status, the page's reason code and the rule of the
// request's log line.
func pageReason(t *testing.T, p *parapet, method, path string, headers ...string) (status int, reason, rule string) {
	t.Helper()
	req, _ := http.NewRequest(method, p.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, body := do(t, req)
	return resp.StatusCode, jsonReason(t, body), logRule(t, p, resp.Header.Get("X-Request-Id"))
}

func jsonReason(t *testing.T, body string) string {
	t.Helper()
	var page struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("not the JSON deny page: %q", body)
	}
	return page.Reason
}

// logRule waits for the log line of request id and returns its rule.
func logRule(t *testing.T, p *parapet, id string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		for _, l := range p.logs.lines(t) {
			if l["request_id"] == id {
				rule, _ := l["rule"].(string)
				return rule
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line for request %s:\n%s", id, p.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Whatever answers with the deny page, its reason code is the rule of
// the request's log line, so the code a user reads out is the one to
// search the logs for: blocks, limits, bans, edge guards, challenge
// refusals, the challenge endpoints' own refusals, the app starting,
// failing or timing out, and a request body the client botched.
func TestDenyPageReasonIsTheLogLinesRule(t *testing.T) {
	up := newUpstream(t, nil)
	// Without detection, which reads bodies first (its refusals are
	// decisions answered like any block).
	p := startParapet(t, up.URL, `trusted_proxies: [loopback]
detection:
  enabled: false
rules:
  - id: humans-only
    action: challenge
    paths: [/members/]
rate_limits:
  rules:
    - id: one-a-minute
      limit: 1/minute
      paths: [/limited/]
`)
	p.handler.Chain().flood.bans.Ban(context.Background(), netip.MustParseAddr("198.51.100.30"), "test ban", "test", "block", time.Hour)
	get(t, p.URL+"/limited/") // the minute's one
	cases := []struct {
		name, method, path string
		headers            []string
		status             int
		want               string
	}{
		{"path rule", "GET", "/.env", nil, 403, "path-dotfiles"},
		{"edge method", "TRACE", "/", nil, 405, ""},
		{"rate limit", "GET", "/limited/", nil, 429, "one-a-minute"},
		{"ban", "GET", "/", []string{"X-Forwarded-For", "198.51.100.30"}, 403, "banned"},
		{"challenge refused to an API client", "GET", "/members/", nil, 429, "humans-only"},
		{"challenge endpoint that does not exist", "GET", challenge.PathPrefix + "nope", nil, 404, challenge.RuleNotFound},
		{"verify with GET", "GET", challenge.PathPrefix + "verify", nil, 405, challenge.RuleMethod},
		{"CAPTCHA media with POST", "POST", challenge.PathPrefix + "captcha.png", nil, 405, challenge.RuleMethod},
		{"CAPTCHA media with a bad token", "GET", challenge.PathPrefix + "captcha.png?t=forged", nil, 403, challenge.RuleFailed},
	}
	for _, c := range cases {
		status, reason, rule := pageReason(t, p, c.method, c.path, c.headers...)
		if status != c.status || reason == "" || reason != rule || c.want != "" && rule != c.want {
			t.Errorf("%s: %d, page says %q, log line says %q; want %d and %q in both", c.name, status, reason, rule, c.status, c.want)
		}
	}

	p.proxy.SetReady(false)
	if status, reason, rule := pageReason(t, p, "GET", "/"); status != 503 || reason != RuleUpstreamStarting || rule != reason {
		t.Errorf("app starting: %d, page says %q, log line says %q", status, reason, rule)
	}
	p.proxy.SetReady(true)

	// A chunked body that is not one: 400 before anything reaches the app.
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /form/ HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if reason, rule := jsonReason(t, string(body)), logRule(t, p, resp.Header.Get("X-Request-Id")); resp.StatusCode != 400 || reason != RuleBadRequestBody || rule != reason {
		t.Errorf("botched body: %d, page says %q, log line says %q", resp.StatusCode, reason, rule)
	}

	slow := newUpstream(t, func(http.ResponseWriter, *http.Request) { time.Sleep(time.Second) })
	ps := startParapet(t, slow.URL, "timeouts:\n  upstream_response_header: 100ms\n")
	if status, reason, rule := pageReason(t, ps, "GET", "/"); status != 504 || reason != RuleUpstreamTimeout || rule != reason {
		t.Errorf("slow app: %d, page says %q, log line says %q", status, reason, rule)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	pd := startParapet(t, dead, "")
	if status, reason, rule := pageReason(t, pd, "GET", "/"); status != 502 || reason != RuleUpstreamError || rule != reason {
		t.Errorf("app down: %d, page says %q, log line says %q", status, reason, rule)
	}
	if l := pd.logs.linesN(t, 1)[0]; l["decision"] != "allow" || l["level"] != "INFO" {
		t.Errorf("an app that is down is the app's failure, not a block of the client: %v", l)
	}
}
