// Copyright 2023 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package collections

import (
	"fmt"
	"strings"

	"github.com/corazawaf/coraza/v3/collection"
	"github.com/corazawaf/coraza/v3/internal/corazarules"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
)

type Single struct {
	data     string
	variable variables.RuleVariable
	// all is what FindAll returned since the value was last set (nil:
	// nothing yet). Parapet: REQUEST_URI, REQUEST_FILENAME and the like
	// are set once and read by dozens of rules, each of which allocated a
	// match of its own.
	all []types.MatchData
}

var _ collection.Single = &Single{}

// NewSingle creates a new Single.
func NewSingle(variable variables.RuleVariable) *Single {
	return &Single{
		variable: variable,
	}
}

// FindAll returns the value as a match. Callers must not write to the
// slice or the match: both are shared until the value is set again.
func (c *Single) FindAll() []types.MatchData {
	if c.all == nil {
		// The match and the list in one allocation.
		one := &oneMatch{match: corazarules.MatchData{Variable_: c.variable, Value_: c.data}}
		one.list[0] = &one.match
		c.all = one.list[:]
	}
	return c.all
}

func (c *Single) Get() string {
	return c.data
}

func (c *Single) Set(value string) {
	c.data = value
	c.all = nil
}

func (c *Single) Name() string {
	return c.variable.Name()
}

func (c *Single) Reset() {
	c.data = ""
	c.all = nil
}

func (c *Single) Format(res *strings.Builder) {
	res.WriteString(c.variable.Name())
	res.WriteString(": ")
	res.WriteString(c.data)
}

func (c *Single) String() string {
	return fmt.Sprintf("%s: %s", c.variable.Name(), c.data)
}
