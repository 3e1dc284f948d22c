// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"testing"

	"github.com/corazawaf/coraza/v3/types/variables"
)

// TestRemovedTargetsFollowRemovals checks removedTargets, which looks the
// removals up only for ids whose bit is set: ids sharing a bit (id%256),
// an id without removals, and a pooled transaction, which keeps the
// map's keys but must answer none after reuse.
func TestRemovedTargetsFollowRemovals(t *testing.T) {
	waf := NewWAF()
	tx := waf.NewTransaction()
	tx.RemoveRuleTargetByID(941100, variables.RequestHeaders, "referer", nil)
	tx.RemoveRuleTargetByID(941100+256, variables.Args, "q", nil)
	if got := tx.removedTargets(941100); len(got) != 1 || got[0].KeyStr != "referer" {
		t.Errorf("removedTargets(941100) = %v", got)
	}
	if got := tx.removedTargets(941100 + 256); len(got) != 1 || got[0].KeyStr != "q" {
		t.Errorf("removedTargets(941356) = %v", got)
	}
	if got := tx.removedTargets(941101); got != nil {
		t.Errorf("removedTargets(941101) = %v, want none", got)
	}
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	tx = waf.NewTransaction()
	if got := tx.removedTargets(941100); len(got) != 0 {
		t.Errorf("a new transaction has removals %v", got)
	}
	tx.RemoveRuleTargetByID(941100, variables.Args, "again", nil)
	if got := tx.removedTargets(941100); len(got) != 1 || got[0].KeyStr != "again" {
		t.Errorf("removedTargets(941100) after reuse = %v", got)
	}
}
