// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package collections

import (
	"fmt"
	"sort"
	"testing"

	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
)

// recycleSet is a transaction's ARGS collections: the parts, their names
// and the two views over them.
type recycleSet struct {
	get, post   *NamedCollection
	names       *ConcatKeyed
	args        *ConcatKeyed
	postNames   *NamedCollectionNames
	recyclables []Recycler
}

func newRecycleSet() *recycleSet {
	s := &recycleSet{get: NewNamedCollection(variables.ArgsGet), post: NewNamedCollection(variables.ArgsPost)}
	s.postNames = s.post.Names(variables.ArgsPostNames).(*NamedCollectionNames)
	s.args = NewConcatKeyed(variables.Args, s.get, s.post)
	s.names = NewConcatKeyed(variables.ArgsNames, s.get.Names(variables.ArgsGetNames), s.postNames)
	s.recyclables = []Recycler{s.get, s.post, s.postNames, s.args, s.names}
	return s
}

// end is what a transaction's Close does.
func (s *recycleSet) end() {
	for _, r := range s.recyclables {
		r.RecycleMatches()
	}
	s.get.Reset()
	s.post.Reset()
}

func (s *recycleSet) fill(request, n int) {
	s.get.Add("q", fmt.Sprintf("r%d-query", request))
	for i := range n {
		s.post.Add(fmt.Sprintf("json.items.%d.r%d", i, request), fmt.Sprintf("r%d-v%d", request, i))
	}
}

func matchStrings(md []types.MatchData) []string {
	out := make([]string, len(md))
	for i, m := range md {
		out[i] = m.Variable().Name() + ":" + m.Key() + "=" + m.Value()
	}
	sort.Strings(out)
	return out
}

// TestRecycledMatchesAreTheNewRequests checks that whole-collection matches
// built into a finished transaction's memory hold the new request's
// values, under each view's variable, and that a list a rule still holds
// is never written while its transaction lasts (a change builds a new one).
func TestRecycledMatchesAreTheNewRequests(t *testing.T) {
	s := newRecycleSet()
	fresh := newRecycleSet() // the same requests without recycling
	for request := range 6 {
		n := 40 + 30*(request%3) // smaller, then larger than the memory kept
		s.fill(request, n)
		fresh.fill(request, n)
		views := []struct {
			name      string
			got, want func() []types.MatchData
		}{
			{"ARGS_POST", s.post.FindAll, fresh.post.FindAll},
			{"ARGS_POST_NAMES", s.postNames.FindAll, fresh.postNames.FindAll},
			{"ARGS", s.args.FindAll, fresh.args.FindAll},
			{"ARGS_NAMES", s.names.FindAll, fresh.names.FindAll},
		}
		held := make([][]string, len(views))
		heldLists := make([][]types.MatchData, len(views))
		for i, v := range views {
			got, want := matchStrings(v.got()), matchStrings(v.want())
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("request %d, %s: %d matches %.300q, want %d %.300q", request, v.name, len(got), got, len(want), want)
			}
			heldLists[i], held[i] = v.got(), got
		}
		// A change within the transaction: the lists rules hold stay as
		// they were.
		s.post.Add("late", "value")
		fresh.post.Add("late", "value")
		for _, v := range views {
			if got, want := matchStrings(v.got()), matchStrings(v.want()); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("request %d, %s after an Add: %.300q, want %.300q", request, v.name, got, want)
			}
		}
		for i, v := range views {
			if got := matchStrings(heldLists[i]); fmt.Sprint(got) != fmt.Sprint(held[i]) {
				t.Fatalf("request %d, %s: a held list changed after an Add", request, v.name)
			}
		}
		s.end()
		fresh = newRecycleSet()
	}
}

// TestRecycledMatchesNotAllocated checks that a transaction's whole-
// collection reads after the one before was recycled build into its
// memory: fewer allocations per request than without recycling.
func TestRecycledMatchesNotAllocated(t *testing.T) {
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = fmt.Sprintf("json.items.%d.name", i)
	}
	request := func(s *recycleSet, recycle bool) {
		for _, k := range keys {
			s.post.Add(k, "lorem ipsum")
		}
		s.args.FindAll()
		s.names.FindAll()
		if recycle {
			s.end()
		} else {
			s.get.Reset()
			s.post.Reset()
		}
	}
	with, without := newRecycleSet(), newRecycleSet()
	recycled := testing.AllocsPerRun(20, func() { request(with, true) })
	allocated := testing.AllocsPerRun(20, func() { request(without, false) })
	// Without recycling, each of the four lists costs two allocations.
	if recycled > allocated-8 {
		t.Fatalf("%.0f allocations per request with recycling, %.0f without: want at least 8 fewer", recycled, allocated)
	}
}
