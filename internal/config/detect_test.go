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
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
