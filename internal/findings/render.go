package findings

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ChangesYAML renders config changes as the YAML lines to add.
func ChangesYAML(changes []Change) string {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, c := range changes {
		applyChange(root, c)
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	_ = enc.Encode(root)
	return b.String()
}

const (
	colReset = "\x1b[0m"
	colRed   = "\x1b[31m"
	colYel   = "\x1b[33m"
	colGreen = "\x1b[32m"
	colDim   = "\x1b[2m"
	colBold  = "\x1b[1m"
)

// Text writes the report for a terminal, grouped as the checklist is;
// colour adds ANSI colours. verbose lists passes too (otherwise counted).
func (r *Report) Text(w io.Writer, colour, verbose bool) {
	c := func(code, s string) string {
		if !colour {
			return s
		}
		return code + s + colReset
	}
	label := map[Status]string{Pass: c(colGreen, "PASS"), Warn: c(colYel, "WARN"), Fail: c(colRed, "FAIL"), Unknown: c(colDim, "????")}
	fmt.Fprintf(w, "%s %s\n", c(colBold, "parapet "+r.Tool+":"), r.Target)
	group := ""
	for _, f := range r.Findings {
		if f.Status == Pass && !verbose {
			continue
		}
		if f.Rule.Group != group {
			group = f.Rule.Group
			fmt.Fprintf(w, "\n%s\n", c(colBold, group))
		}
		where := ""
		if f.File != "" {
			where = "  " + c(colDim, location(f.File, f.Line))
		}
		fmt.Fprintf(w, "  %s %-26s %s%s\n", label[f.Status], f.Rule.ID, f.Message, where)
		if f.Status == Pass {
			continue
		}
		if f.Status == Unknown {
			fmt.Fprintf(w, "       %s: %s\n", "cannot tell statically", "check the value the app gets in production")
		}
		if f.Rule.Fix != "" && f.Status != Unknown {
			fmt.Fprintf(w, "       fix: %s\n", f.Rule.Fix)
		}
		if f.Parapet != nil {
			fmt.Fprintf(w, "       %s %s\n", c(colGreen, "parapet:"), f.Parapet.Summary)
			if len(f.Parapet.Changes) > 0 {
				writeIndented(w, ChangesYAML(f.Parapet.Changes), "         ")
			}
			if f.Parapet.Advice != "" {
				writeIndented(w, f.Parapet.Advice, "         ")
			}
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", c(colBold, "Notes"))
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	n := r.Count()
	fmt.Fprintf(w, "\n%d failed, %d warnings, %d passed, %d cannot tell statically\n", n[Fail], n[Warn], n[Pass], n[Unknown])
}

func writeIndented(w io.Writer, s, indent string) {
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		fmt.Fprintf(w, "%s%s\n", indent, l)
	}
}

func location(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

type jsonFinding struct {
	Rule     string   `json:"rule"`
	Group    string   `json:"group"`
	Severity string   `json:"severity"`
	Status   Status   `json:"status"`
	Message  string   `json:"message"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Fix      string   `json:"fix,omitempty"`
	Parapet  *Enforce `json:"parapet,omitempty"`
	Config   string   `json:"parapet_config,omitempty"`
}

// JSON writes the report as one JSON document.
func (r *Report) JSON(w io.Writer) error {
	out := struct {
		Tool     string          `json:"tool"`
		Target   string          `json:"target"`
		Summary  map[Status]int  `json:"summary"`
		Findings []jsonFinding   `json:"findings"`
		Notes    []string        `json:"notes,omitempty"`
		Rules    []jsonRuleEntry `json:"rules"`
	}{Tool: "parapet " + r.Tool, Target: r.Target, Summary: r.Count(), Notes: r.Notes, Findings: []jsonFinding{}}
	for _, f := range r.Findings {
		jf := jsonFinding{Rule: f.Rule.ID, Group: f.Rule.Group, Severity: f.Rule.Severity.String(), Status: f.Status,
			Message: f.Message, File: f.File, Line: f.Line, Parapet: f.Parapet}
		if f.Status != Pass {
			jf.Fix = f.Rule.Fix
		}
		if f.Parapet != nil && len(f.Parapet.Changes) > 0 {
			jf.Config = ChangesYAML(f.Parapet.Changes)
		}
		out.Findings = append(out.Findings, jf)
	}
	for _, rule := range r.Rules {
		out.Rules = append(out.Rules, jsonRuleEntry{rule.ID, rule.Group, rule.Title, rule.Severity.String(), rule.Doc, rule.Fix})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

type jsonRuleEntry struct {
	ID       string `json:"id"`
	Group    string `json:"group"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Doc      string `json:"doc"`
	Fix      string `json:"fix"`
}

// SARIF writes the failed, warned and cannot-tell findings as a SARIF
// 2.1.0 log for GitHub code scanning: every rule in
// runs[0].tool.driver.rules, each result with a location (the file and
// line; the target itself for a finding without one).
func (r *Report) SARIF(w io.Writer, version string) error {
	type msg struct {
		Text string `json:"text"`
	}
	type rule struct {
		ID               string         `json:"id"`
		Name             string         `json:"name"`
		ShortDescription msg            `json:"shortDescription"`
		FullDescription  msg            `json:"fullDescription"`
		Help             msg            `json:"help"`
		Properties       map[string]any `json:"properties"`
		DefaultConfig    map[string]any `json:"defaultConfiguration"`
	}
	type region struct {
		StartLine int `json:"startLine"`
	}
	type artifact struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId,omitempty"`
	}
	type physical struct {
		ArtifactLocation artifact `json:"artifactLocation"`
		Region           *region  `json:"region,omitempty"`
	}
	type location struct {
		PhysicalLocation physical `json:"physicalLocation"`
	}
	type result struct {
		RuleID    string     `json:"ruleId"`
		RuleIndex int        `json:"ruleIndex"`
		Level     string     `json:"level"`
		Message   msg        `json:"message"`
		Locations []location `json:"locations"`
	}
	levels := map[Severity]string{Low: "note", Medium: "warning", High: "error"}
	var rules []rule
	index := map[*Rule]int{}
	for i, rl := range r.Rules {
		index[rl] = i
		rules = append(rules, rule{
			ID: rl.ID, Name: sarifName(rl.ID), ShortDescription: msg{rl.Title}, FullDescription: msg{rl.Doc},
			Help:          msg{rl.Doc + " Fix: " + rl.Fix},
			Properties:    map[string]any{"tags": []string{"security", rl.Group}, "security-severity": map[Severity]string{Low: "3.0", Medium: "5.5", High: "8.0"}[rl.Severity]},
			DefaultConfig: map[string]any{"level": levels[rl.Severity]},
		})
	}
	results := []result{}
	for _, f := range r.Findings {
		if f.Status == Pass {
			continue
		}
		level := levels[f.Rule.Severity]
		if f.Status == Warn && level == "error" {
			level = "warning"
		}
		if f.Status == Unknown {
			level = "note"
		}
		text := f.Message
		if f.Status == Unknown {
			text = "Cannot tell statically: " + text
		}
		if f.Parapet != nil {
			text += " Parapet can enforce this at the edge: " + f.Parapet.Summary
		}
		loc := physical{ArtifactLocation: artifact{URI: r.Target}}
		if f.File != "" {
			loc.ArtifactLocation = artifact{URI: (&url.URL{Path: filepath.ToSlash(f.File)}).String(), URIBaseID: "%SRCROOT%"}
			if f.Line > 0 {
				loc.Region = &region{StartLine: f.Line}
			}
		}
		results = append(results, result{RuleID: f.Rule.ID, RuleIndex: index[f.Rule], Level: level, Message: msg{text}, Locations: []location{{loc}}})
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name": "parapet " + r.Tool, "informationUri": "https://github.com/parapet-waf/parapet",
				"semanticVersion": version, "rules": rules,
			}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func sarifName(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		if r == '-' || r == '.' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}
