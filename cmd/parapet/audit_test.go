package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := realMain(args, &out, &errb)
	return code, out.String(), errb.String()
}

const (
	goodProject  = "../../internal/audit/testdata/good"
	badProject   = "../../internal/audit/testdata/bad"
	splitProject = "../../internal/audit/testdata/split"
)

func TestAuditExitStatusFollowsFailOn(t *testing.T) {
	for _, c := range []struct {
		project, failOn string
		want            int
	}{
		{goodProject, "low", 0},
		{badProject, "high", 1},
		{badProject, "none", 0},
		{splitProject, "high", 0},   // its only failures are medium
		{splitProject, "medium", 1}, // CSRF_COOKIE_SECURE defaults to False
	} {
		code, out, errOut := runCLI(t, "audit", "--no-history", "--fail-on", c.failOn, c.project)
		if code != c.want {
			t.Errorf("%s --fail-on %s: exit %d, want %d\n%s%s", c.project, c.failOn, code, c.want, out, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "audit", "--fail-on", "critical", goodProject); code != 2 || !strings.Contains(errOut, "severity") {
		t.Errorf("bad --fail-on: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "audit", t.TempDir()); code != 2 || !strings.Contains(errOut, "manage.py") {
		t.Errorf("not a Django project: %d %s", code, errOut)
	}
}

func TestAuditTextSaysWhatToFixAndWhatParapetDoes(t *testing.T) {
	_, out, _ := runCLI(t, "audit", "--no-history", badProject)
	for _, want := range []string{
		"FAIL hsts", "badsite/settings.py:38", "fix: SECURE_HSTS_SECONDS = 31536000",
		"parapet: harden.hsts", "max_age: 8760h",
		"FAIL drf-throttling", "anon: 100/hour",
		"FAIL raw-sql", "shop/views.py:10",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes written to a non-terminal")
	}
}

func TestAuditJSON(t *testing.T) {
	_, out, _ := runCLI(t, "audit", "--no-history", "--format", "json", splitProject)
	var doc struct {
		Summary  map[string]int `json:"summary"`
		Findings []struct {
			Rule, Status, File string
			Line               int
			ParapetConfig      string `json:"parapet_config"`
		}
		Rules []struct{ ID, Doc string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	found := false
	for _, f := range doc.Findings {
		if f.Rule == "hsts" && f.Status == "cannot tell" && f.File == "splitsite/settings/production.py" && f.Line == 19 {
			found = true
		}
		if f.Rule == "allowed-hosts" && (f.Status != "fail" || f.Line != 11) {
			t.Errorf("allowed-hosts: %+v", f)
		}
	}
	if !found || doc.Summary["cannot tell"] == 0 || len(doc.Rules) < 30 || doc.Rules[0].Doc == "" {
		t.Errorf("json: %s", out)
	}
}

// The SARIF log has what GitHub code scanning reads: version 2.1.0, the
// rules in runs[0].tool.driver.rules, and results naming a rule, a level
// and a location with a file and line.
func TestAuditSARIFStructure(t *testing.T) {
	_, out, _ := runCLI(t, "audit", "--no-history", "--format", "sarif", badProject)
	var doc struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string
					Rules []struct {
						ID               string
						ShortDescription struct{ Text string } `json:"shortDescription"`
					}
				}
			}
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						Region           *struct {
							StartLine int `json:"startLine"`
						}
					} `json:"physicalLocation"`
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || !strings.Contains(doc.Schema, "sarif-2.1.0") || len(doc.Runs) != 1 {
		t.Fatalf("header: %q %q %d runs", doc.Version, doc.Schema, len(doc.Runs))
	}
	run := doc.Runs[0]
	if run.Tool.Driver.Name == "" || len(run.Tool.Driver.Rules) < 30 {
		t.Fatalf("driver: %+v", run.Tool.Driver)
	}
	if len(run.Results) < 30 {
		t.Fatalf("%d results", len(run.Results))
	}
	withLine := 0
	for _, r := range run.Results {
		if r.RuleIndex < 0 || r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s: ruleIndex %d does not name it", r.RuleID, r.RuleIndex)
		}
		if r.Level != "error" && r.Level != "warning" && r.Level != "note" {
			t.Errorf("%s: level %q", r.RuleID, r.Level)
		}
		if r.Message.Text == "" || len(r.Locations) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
			t.Errorf("%s: message or location missing: %+v", r.RuleID, r)
		}
		if reg := r.Locations[0].PhysicalLocation.Region; reg != nil {
			if reg.StartLine < 1 {
				t.Errorf("%s: startLine %d", r.RuleID, reg.StartLine)
			}
			withLine++
		}
		if r.RuleID == "secret-key" && (r.Locations[0].PhysicalLocation.ArtifactLocation.URI != "badsite/settings.py" || r.Locations[0].PhysicalLocation.Region.StartLine != 5) {
			t.Errorf("secret-key location: %+v", r.Locations[0])
		}
	}
	if withLine < 25 {
		t.Errorf("only %d results with a line", withLine)
	}
}

// --write-config shows a diff and writes nothing without --yes (stdin is
// not a terminal here); with --yes the file gets the keys, keeps the
// user's comments and passes parapet check; a second run has nothing to add.
func TestAuditWriteConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	orig := "# ours\nupstream: http://127.0.0.1:8000\nharden:\n  hsts:\n    enabled: false  # turned off while testing\n"
	os.WriteFile(cfg, []byte(orig), 0o644)
	code, out, errOut := runCLI(t, "audit", "--no-history", "--write-config", cfg, badProject)
	if code != 1 {
		t.Errorf("exit %d (the findings still fail)", code)
	}
	for _, want := range []string{"--- " + cfg, "+++ " + cfg, "@@ ", "-    enabled: false", "+    enabled: true", "+  https_redirect: auto", "+    anon: 100/hour", "not written: run again with --yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the output:\n%s%s", want, out, errOut)
		}
	}
	if b, _ := os.ReadFile(cfg); string(b) != orig {
		t.Fatalf("written without --yes:\n%s", b)
	}
	code, out, _ = runCLI(t, "audit", "--no-history", "--format", "json", "--fail-on", "none", "--write-config", cfg, "--yes", badProject)
	if code != 0 || !json.Valid([]byte(out)) {
		t.Fatalf("json with --write-config: exit %d, stdout not JSON alone:\n%s", code, out)
	}
	b, _ := os.ReadFile(cfg)
	for _, want := range []string{"# ours", "upstream: http://127.0.0.1:8000", "enabled: true", "https_redirect: auto", "name: sessionid", "anon: 100/hour"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %q in the written file:\n%s", want, b)
		}
	}
	if code, out, errOut := runCLI(t, "check", "--config", cfg); code != 0 {
		t.Fatalf("written config refused: %s%s", out, errOut)
	}
	_, out, _ = runCLI(t, "audit", "--no-history", "--write-config", cfg, "--yes", badProject)
	if !strings.Contains(out, "already has") {
		t.Errorf("second run: %s", out[strings.LastIndex(out, "\n\n"):])
	}
}
