// Package rules holds Parapet's access rules and the stages that apply them.
package rules

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// PathRules is the path deny list stage: requests whose path matches a
// rule's prefixes or regexes (and methods, if given) are blocked or logged.
type PathRules struct {
	rules []pathRule
}

type pathRule struct {
	id       string
	prefixes []string
	re       *regexp.Regexp // all the rule's regexes as one alternation; nil if none
	methods  map[string]bool
	action   decision.Action
	mode     decision.Mode
	status   int
}

// NewPathRules compiles the rules (the built-in defaults first when
// includeDefaults). Patterns were validated with the config; an error here
// still names the rule and pattern.
func NewPathRules(cfg *config.Config) (*PathRules, error) {
	var all []config.PathRule
	offset := 0
	if cfg.DefaultPathRules {
		all = append(all, config.DefaultPathRules()...)
		offset = len(all)
	}
	all = append(all, cfg.PathRules...)
	pr := &PathRules{}
	for i, r := range all {
		c := pathRule{id: r.ID, prefixes: r.Prefixes, status: r.Status, action: decision.Block}
		if r.Action == "log" {
			c.action = decision.Log
		}
		c.mode, _ = decision.ParseMode(r.Mode)
		if len(r.Regexes) > 0 {
			parts := make([]string, len(r.Regexes))
			for j, s := range r.Regexes {
				parts[j] = "(?:" + s + ")"
			}
			re, err := regexp.Compile(strings.Join(parts, "|"))
			if err != nil {
				if i >= offset {
					return nil, cfg.Errorf(fmt.Sprintf("path_rules[%d].regexes", i-offset), "%v", err)
				}
				return nil, err
			}
			c.re = re
		}
		if len(r.Methods) > 0 {
			c.methods = map[string]bool{}
			for _, m := range r.Methods {
				c.methods[m] = true
			}
		}
		pr.rules = append(pr.rules, c)
	}
	return pr, nil
}

// Name returns "paths".
func (p *PathRules) Name() string { return "paths" }

// Check returns the first enforced match; monitor-mode and log matches
// are returned too when nothing enforced matched (the chain records them).
func (p *PathRules) Check(_ context.Context, r *http.Request, info *decision.Info) decision.Decision {
	path := r.URL.Path
	for i := range p.rules {
		rule := &p.rules[i]
		if rule.methods != nil && !rule.methods[r.Method] {
			continue
		}
		if !rule.matches(path) {
			continue
		}
		d := decision.Decision{Action: rule.action, Mode: rule.mode, RuleID: rule.id, Status: rule.status, Reason: "path matched"}
		if d.Decided() {
			return d
		}
		info.Matched = append(info.Matched, d)
	}
	return decision.Pass
}

func (r *pathRule) matches(path string) bool {
	for _, p := range r.prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return r.re != nil && r.re.MatchString(path)
}
