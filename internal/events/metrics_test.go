package events

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetricsCountEventsAndGuardWithToken(t *testing.T) {
	m := NewMetrics("test")
	ctx := context.Background()
	m.Emit(ctx, &Event{Decision: "block", RuleID: "ua-sqlmap", Status: 403, Duration: time.Millisecond})
	m.Emit(ctx, &Event{Decision: "allow", Status: 502, Error: "dial: refused", Monitored: []string{"geo:block:monitor"}})
	m.Emit(ctx, &Event{Decision: "block", RuleID: "leak-traceback", Status: 500, Critical: true, Inspection: 450 * time.Microsecond})
	m.Emit(ctx, &Event{Decision: "allow", Status: 200, Inspection: 3 * time.Millisecond})
	m.Reloaded(true)

	srv := httptest.NewServer(m.Handler("s3cret-token-0123456789"))
	defer srv.Close()
	get := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := get(""); status != 401 {
		t.Fatalf("no token: %d", status)
	}
	if status, _ := get("Bearer s3cret-token-012345678"); status != 401 {
		t.Fatalf("a prefix of the token: %d", status)
	}
	status, body := get("Bearer s3cret-token-0123456789")
	if status != 200 {
		t.Fatalf("with token: %d", status)
	}
	for _, want := range []string{
		`parapet_requests_total{decision="block",rule="ua-sqlmap"} 1`,
		`parapet_requests_total{decision="allow",rule=""} 2`,
		`parapet_rule_matches_not_enforced_total{action="block",rule="geo"} 1`,
		`parapet_upstream_errors_total{status="502"} 1`,
		`parapet_responses_total{class="5xx"} 2`,
		`parapet_responses_total{class="2xx"} 1`,
		`parapet_detection_duration_seconds_bucket{le="0.0005"} 1`,
		`parapet_detection_duration_seconds_bucket{le="0.003"} 2`,
		`parapet_detection_duration_seconds_count 2`,
		`parapet_critical_events_total 1`,
		`parapet_config_reloads_total{result="applied"} 1`,
		`parapet_request_duration_seconds_count{decision="block"} 2`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
}

// Only the exact "Bearer <token>" matches: no prefix, no longer value, no
// other scheme or case.
func TestBearerMatches(t *testing.T) {
	const token = "s3cret-token-0123456789"
	for auth, want := range map[string]bool{
		"Bearer " + token:        true,
		"":                       false,
		"Bearer ":                false,
		"Bearer s3cret":          false,
		"Bearer " + token + "x":  false,
		"bearer " + token:        false,
		"Basic " + token:         false,
		token:                    false,
		"Bearer  " + token:       false,
		"Bearer " + token + "\n": false,
	} {
		r := httptest.NewRequest("GET", "/_parapet/metrics", nil)
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		if got := BearerMatches(r, token); got != want {
			t.Errorf("Authorization %q: %v, want %v", auth, got, want)
		}
	}
}
