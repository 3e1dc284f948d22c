package live

import (
	"encoding/json"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
)

func TestApplyAddsRulesAndModesWithoutTouchingTheFile(t *testing.T) {
	file := config.Default()
	file.Rules = []config.Rule{{ID: "office", Action: "allow", IPs: []string{"203.0.113.0/24"}}}
	file.RateLimits.Rules = []config.RateLimitRule{{ID: "rl-search", Limit: "5/minute"}}
	s := State{
		Rules: []Rule{
			{Kind: KindAccess, Rule: json.RawMessage(`{"id":"block-net","ips":["198.51.100.0/24"]}`)},
			{Kind: KindRateLimit, Rule: json.RawMessage(`{"id":"rl-live","limit":"2/minute","ban_for":"1h","action":"ban"}`)},
		},
		Modes: map[string]string{"access/office": "monitor", "rate_limit/rl-live": "monitor"},
	}
	cfg, where, err := s.Apply(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(file.Rules) != 1 || file.Rules[0].Mode != "" || len(file.RateLimits.Rules) != 1 {
		t.Fatalf("the file's config changed: %+v", file.Rules)
	}
	if len(cfg.Rules) != 2 || cfg.Rules[0].Mode != "monitor" || cfg.Rules[1].ID != "block-net" {
		t.Fatalf("rules %+v", cfg.Rules)
	}
	rl := cfg.RateLimits.Rules[1]
	if rl.ID != "rl-live" || rl.Mode != "monitor" || rl.BanFor.String() != "1h0m0s" {
		t.Fatalf("rate limit %+v", rl)
	}
	if where["rules[1]"] != 0 || where["rate_limits.rules[1]"] != 1 {
		t.Fatalf("where %v", where)
	}
	// The copy validates as the file's rules do, errors by field of the live rule.
	cfg.Rules[1].IPs = nil
	cfg.Rules[1].Action = "smite"
	fields, other := FieldErrors(cfg.Validate(), where, 0)
	if len(fields) != 1 || fields[0].Field != "action" || len(other) != 0 {
		t.Fatalf("fields %v other %v", fields, other)
	}
}

func TestDecodeRefusesUnknownFieldsAndBadTypes(t *testing.T) {
	for raw, field := range map[string]string{
		`{"id":"x","pathz":["/"]}`:   "pathz",
		`{"id":"x","status":"high"}`: "rule",
		``:                           "rule",
		`null`:                       "rule",
	} {
		_, err := DecodeAccess([]byte(raw))
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != field {
			t.Errorf("%s: %v, want field %s", raw, err, field)
		}
	}
	s, err := Decode(State{Rules: []Rule{{Kind: KindAccess, Rule: json.RawMessage(`{"id":"a"}`)}}}.Encode())
	if err != nil || len(s.Rules) != 1 || s.Rules[0].ID() != "a" || s.Find(KindAccess, "a") != 0 || s.Find(KindRateLimit, "a") != -1 {
		t.Fatalf("round trip: %+v %v", s, err)
	}
}
