// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package operators

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// TestPMFromFileSmallAndLargeDictionaries checks @pmFromFile finds the
// same keywords, in any case, in a small dictionary and in one past
// largeDictionaryBytes (past the automaton's rows, see pmDenseBytes).
func TestPMFromFileSmallAndLargeDictionaries(t *testing.T) {
	const largeDictionaryBytes = 32 << 10
	dir := t.TempDir()
	for _, n := range []int{50, largeDictionaryBytes/10 + 500} {
		var b strings.Builder
		size := 0
		for i := 0; i < n; i++ {
			w := fmt.Sprintf("keyword%05dx", i)
			size += len(w)
			b.WriteString(w + "\n")
		}
		if n > 50 && size <= largeDictionaryBytes {
			t.Fatalf("the large dictionary is %d bytes, not past %d", size, largeDictionaryBytes)
		}
		name := fmt.Sprintf("words%d.data", n)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("# a comment\n"+b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		op, err := newPMFromFile(plugintypes.OperatorOptions{Arguments: name, Path: []string{"."}, Root: os.DirFS(dir)})
		if err != nil {
			t.Fatal(err)
		}
		tx := newTestTx()
		for _, tc := range []struct {
			in   string
			want bool
		}{
			{"before keyword00000x after", true},
			{fmt.Sprintf("...KEYWORD%05dX...", n-1), true},
			{fmt.Sprintf("keyword%05dx", n), false},
			{"keyword0000", false},
			{"a comment", false},
		} {
			if got := op.Evaluate(tx, tc.in); got != tc.want {
				t.Errorf("%d keywords: %q matched %v, want %v", n, tc.in, got, tc.want)
			}
		}
		tx.Close()
	}
}
