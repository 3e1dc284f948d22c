// Copyright 2023 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package collections

import (
	"regexp"

	"github.com/corazawaf/coraza/v3/collection"
	"github.com/corazawaf/coraza/v3/internal/corazarules"
	stringsutil "github.com/corazawaf/coraza/v3/internal/strings"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
)

// ConcatCollection is a collection view over multiple collections.
type ConcatCollection struct {
	data     []collection.Collection
	variable variables.RuleVariable
}

var _ collection.Collection = &ConcatCollection{}

func NewConcatCollection(variable variables.RuleVariable, data ...collection.Collection) *ConcatCollection {
	return &ConcatCollection{
		data:     data,
		variable: variable,
	}
}

// FindAll returns all matches for all collections
func (c *ConcatCollection) FindAll() []types.MatchData {
	var res []types.MatchData
	for _, d := range c.data {
		res = appendRenamed(res, c.variable, d.FindAll())
	}
	return res
}

// Name returns the name for the current CollectionconcatCollection
func (c *ConcatCollection) Name() string {
	return c.variable.Name()
}

// ConcatKeyed is a collection view over multiple keyed collections.
type ConcatKeyed struct {
	data     []collection.Keyed
	variable variables.RuleVariable
	all      matchesCache
}

// changeCounter is a collection that counts its changes (Map,
// NamedCollection, NamedCollectionNames).
type changeCounter interface {
	changeCount() uint64
}

// changeCount sums its parts' change counts (each only grows, so the sum
// changes whenever a part does); ok is false if a part does not count.
func (c *ConcatKeyed) changeCount() (n uint64, ok bool) {
	for _, d := range c.data {
		cc, ok := d.(changeCounter)
		if !ok {
			return 0, false
		}
		n += cc.changeCount()
	}
	return n, true
}

var _ collection.Keyed = &ConcatKeyed{}

func NewConcatKeyed(variable variables.RuleVariable, data ...collection.Keyed) *ConcatKeyed {
	return &ConcatKeyed{
		data:     data,
		variable: variable,
	}
}

func (c *ConcatKeyed) Get(key string) []string {
	keyL := stringsutil.ToLower(key)
	var res []string
	for _, c := range c.data {
		res = append(res, c.Get(keyL)...)
	}
	return res
}

// FindRegex returns a slice of MatchData for the regex
func (c *ConcatKeyed) FindRegex(key *regexp.Regexp) []types.MatchData {
	var res []types.MatchData
	for _, d := range c.data {
		res = appendRenamed(res, c.variable, d.FindRegex(key))
	}
	return res
}

// FindString returns a slice of MatchData for the string
func (c *ConcatKeyed) FindString(key string) []types.MatchData {
	var res []types.MatchData
	for _, d := range c.data {
		res = appendRenamed(res, c.variable, d.FindString(key))
	}
	return res
}

// FindAll returns all matches for all collections
func (c *ConcatKeyed) FindAll() []types.MatchData {
	count, ok := c.changeCount()
	if !ok {
		return c.collect(nil)
	}
	return c.all.find(count, c.findAll)
}

func (c *ConcatKeyed) findAll() []types.MatchData { return c.collect(&c.all) }

// collect builds the parts' matches renamed, in one buffer (from cache's
// spare memory when it has enough; cache may be nil).
func (c *ConcatKeyed) collect(cache *matchesCache) []types.MatchData {
	var partsBuf [4][]types.MatchData
	parts := partsBuf[:0]
	n := 0
	for _, d := range c.data {
		md := d.FindAll()
		parts = append(parts, md)
		n += len(md)
	}
	if n == 0 {
		return nil
	}
	buf, res := cache.take(n)
	i := 0
	for _, md := range parts {
		for _, m := range md {
			buf[i] = *m.(*corazarules.MatchData)
			buf[i].Variable_ = c.variable
			res[i] = &buf[i]
			i++
		}
	}
	return res
}

// Name returns the name for the current CollectionconcatCollection
func (c *ConcatKeyed) Name() string {
	return c.variable.Name()
}

// appendRenamed appends to res copies of the matches md that reference
// the concatenated collection's variable v, not the part's. The part's
// matches are not changed: its FindAll matches and slice are shared
// between calls (matchesCache).
func appendRenamed(res []types.MatchData, v variables.RuleVariable, md []types.MatchData) []types.MatchData {
	if len(md) == 0 {
		return res
	}
	buf := make([]corazarules.MatchData, len(md))
	for i, m := range md {
		buf[i] = *m.(*corazarules.MatchData)
		buf[i].Variable_ = v
		res = append(res, &buf[i])
	}
	return res
}
