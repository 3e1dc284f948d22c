// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"regexp"
	"strings"

	"github.com/corazawaf/coraza/v3/internal/collections"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
)

// ruleCollection is the RULE collection: the id, msg, rev, logdata and
// severity of the rule being evaluated. Parapet: doEvaluate only names the
// rule (of); the fields are written when something first uses the
// collection while that rule is evaluated, through any method. Writing
// them for every rule, msg and logdata expanded, was 5-8% of a GET's
// detection, and no CRS rule reads RULE.
//
// What a reader sees is what it saw when the fields were written at the
// start of the rule, except that macros in msg and logdata are expanded
// when the collection is first used rather than before the rule's
// operator ran: a setvar with %{rule.msg} now gets a msg whose
// %{MATCHED_VAR} is the rule's own match, not the previous rule's.
type ruleCollection struct {
	*collections.Map
	tx     *Transaction
	fields *collections.FirstValues
	// rule is whose id, rev and severity are still to be written; msgOf
	// and logDataOf are the last rules with a msg or logdata still to be
	// written (a rule without one, a chained rule say, leaves the one
	// before it, as writing at the start of each rule did).
	rule, msgOf, logDataOf *Rule
}

func newRuleCollection() *ruleCollection {
	return &ruleCollection{
		Map:    collections.NewMap(variables.Rule),
		fields: collections.NewFirstValues("id", "msg", "rev", "logdata", "severity"),
	}
}

// of makes r the rule whose fields the collection holds.
func (c *ruleCollection) of(r *Rule) {
	c.rule = r
	if r.Msg != nil {
		c.msgOf = r
	}
	if r.LogData != nil {
		c.logDataOf = r
	}
}

// write writes the fields of the rules of named since the last write.
func (c *ruleCollection) write() {
	if r := c.rule; r != nil {
		c.rule = nil
		c.Map.SetFirst(c.fields, 0, r.LogID())
		c.Map.SetFirst(c.fields, 2, r.Rev_)
		c.Map.SetFirst(c.fields, 4, r.Severity_.String())
	}
	if r := c.msgOf; r != nil {
		c.msgOf = nil
		// Expanded with the current TX variables so that %{rule.msg} in
		// setvar gets the message as logged (as ModSecurity does).
		c.Map.SetFirst(c.fields, 1, r.Msg.Expand(c.tx))
	}
	if r := c.logDataOf; r != nil {
		c.logDataOf = nil
		c.Map.SetFirst(c.fields, 3, r.LogData.Expand(c.tx))
	}
}

func (c *ruleCollection) Get(key string) []string { c.write(); return c.Map.Get(key) }

// FirstValue and SetOne, which setvar and macro expansion use (Parapet
// patch 43), write the pending fields first, as Get and Set do.
func (c *ruleCollection) FirstValue(key string) (string, bool) {
	c.write()
	return c.Map.FirstValue(key)
}

func (c *ruleCollection) SetOne(key, value string) { c.write(); c.Map.SetOne(key, value) }

func (c *ruleCollection) FindRegex(key *regexp.Regexp) []types.MatchData {
	c.write()
	return c.Map.FindRegex(key)
}

func (c *ruleCollection) FindString(key string) []types.MatchData {
	c.write()
	return c.Map.FindString(key)
}

func (c *ruleCollection) FindAll() []types.MatchData { c.write(); return c.Map.FindAll() }

func (c *ruleCollection) Add(key string, value string) { c.write(); c.Map.Add(key, value) }

func (c *ruleCollection) Set(key string, values []string) { c.write(); c.Map.Set(key, values) }

func (c *ruleCollection) SetIndex(key string, index int, value string) {
	c.write()
	c.Map.SetIndex(key, index, value)
}

func (c *ruleCollection) Remove(key string) { c.write(); c.Map.Remove(key) }

func (c *ruleCollection) Format(res *strings.Builder) { c.write(); c.Map.Format(res) }

func (c *ruleCollection) String() string { c.write(); return c.Map.String() }

func (c *ruleCollection) Len() int { c.write(); return c.Map.Len() }

// Reset empties the collection and forgets the rules named.
func (c *ruleCollection) Reset() {
	c.rule, c.msgOf, c.logDataOf = nil, nil, nil
	c.Map.Reset()
}

func (c *ruleCollection) TotalValues() int { c.write(); return c.Map.TotalValues() }
