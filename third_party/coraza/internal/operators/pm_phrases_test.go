// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package operators

import (
	"os"
	"slices"
	"testing"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// TestPMPhrases checks that @pm and @pmFromFile give back the phrases
// their automaton was built from (Parapet's value filter reads them).
func TestPMPhrases(t *testing.T) {
	type phraser interface{ Phrases() []string }
	op, err := newPM(plugintypes.OperatorOptions{Arguments: "Union SELECT  x"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := op.(phraser).Phrases(), []string{"union", "select", "", "x"}; !slices.Equal(got, want) {
		t.Errorf("@pm phrases %q, want %q", got, want)
	}
	op, err = newPMFromFile(plugintypes.OperatorOptions{
		Arguments: "./testdata/op/pmFromFile-01.dat",
		Path:      []string{"./"},
		Root:      os.DirFS("./"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := op.(phraser).Phrases(), []string{"abc", "def", "ghi", "xxx yyy zzz"}; !slices.Equal(got, want) {
		t.Errorf("@pmFromFile phrases %q, want %q", got, want)
	}
}
