package config

import (
	"strings"
	"testing"
)

func TestDetectionDefaultsAndEnvironment(t *testing.T) {
	cfg, err := Load("", []string{"PARAPET_DETECTION_MODE=monitor", "PARAPET_DETECTION_PARANOIA_LEVEL=2", "PARAPET_DETECTION_SKIP_PATHS=/static/,/media/"})
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Detection
	if !d.Enabled || !d.DjangoProfile || d.Mode != "monitor" || d.ParanoiaLevel != 2 || d.InboundThreshold != 5 ||
		d.BodyOverLimit != "reject" || d.MultipartOverLimit != "pass" || len(d.SkipPaths) != 2 {
		t.Fatalf("detection: %+v", d)
	}
}

func TestDetectionBadValuesRefusedAtTheirLines(t *testing.T) {
	p := writeFile(t, `detection:
  mode: block
  paranoia_level: 5
  inbound_threshold: 0
  body_limit: 100
  body_over_limit: drop
  skip_paths: [static/]
  exclusions:
    - paths: [/x/]
    - rule_ids: ["942100", "abc", "942200-942100"]
      fields: ["ARGS:ok", "COOKIE:x"]
    - rule_ids: ["1"]
      tags: [attack-sqli]
    - rule_ids: ["0", "00-100", "942100"]
`)
	_, err := Load(p, nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		":2: detection.mode",
		":3: detection.paranoia_level",
		":4: detection.inbound_threshold",
		":5: detection.body_limit",
		":6: detection.body_over_limit",
		":7: detection.skip_paths[0]",
		":9: detection.exclusions[0]: an exclusion needs",
		`:10: detection.exclusions[1].rule_ids[1]: "abc"`,
		`:10: detection.exclusions[1].rule_ids[2]: "942200-942100": the range is backwards`,
		`:11: detection.exclusions[1].fields[1]: "COOKIE:x"`,
		":12: detection.exclusions[2]: give rule_ids or tags",
		`:14: detection.exclusions[3].rule_ids[0]: "0": rule ids start at 1`,
		`:14: detection.exclusions[3].rule_ids[1]: "00-100": rule ids start at 1`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// Response inspection is off by default with CRS's outbound threshold;
// every new key has its environment override.
func TestDetectionResponsesDefaultsAndEnvironment(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Detection.Responses
	if r.Enabled || cfg.Detection.OutboundThreshold != 4 || r.BodyLimit != 64<<10 || len(r.ContentTypes) == 0 {
		t.Fatalf("defaults: threshold %d, %+v", cfg.Detection.OutboundThreshold, r)
	}
	cfg, err = Load("", []string{"PARAPET_DETECTION_OUTBOUND_THRESHOLD=10", "PARAPET_DETECTION_RESPONSES_ENABLED=true",
		"PARAPET_DETECTION_RESPONSES_BODY_LIMIT=16KB", "PARAPET_DETECTION_RESPONSES_CONTENT_TYPES=text/html,application/json"})
	if err != nil {
		t.Fatal(err)
	}
	r = cfg.Detection.Responses
	if cfg.Detection.OutboundThreshold != 10 || !r.Enabled || r.BodyLimit != 16<<10 || strings.Join(r.ContentTypes, " ") != "text/html application/json" {
		t.Fatalf("environment: threshold %d, %+v", cfg.Detection.OutboundThreshold, r)
	}
	if _, err := Load("", []string{"PARAPET_DETECTION_OUTBOUND_THRESHOLD=0"}); err == nil || !strings.Contains(err.Error(), "PARAPET_DETECTION_OUTBOUND_THRESHOLD") {
		t.Fatalf("a zero threshold from the environment: %v", err)
	}
}

func TestDetectionResponsesBadValuesRefusedAtTheirLines(t *testing.T) {
	p := writeFile(t, `detection:
  outbound_threshold: 0
  responses:
    enabled: true
    body_limit: 12
    content_types: [text/html, "Text/HTML; charset=utf-8", json]
`)
	_, err := Load(p, nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		":2: detection.outbound_threshold: 0 must be at least 1",
		":5: detection.responses.body_limit",
		`:6: detection.responses.content_types[1]: "Text/HTML; charset=utf-8"`,
		`:6: detection.responses.content_types[2]: "json"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	p = writeFile(t, "detection:\n  responses:\n    enabled: true\n    body_limit: 1GB\n    content_types: []\n")
	_, err = Load(p, nil)
	for _, want := range []string{":4: detection.responses.body_limit: 1GB is too large", ":5: detection.responses.content_types: empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
