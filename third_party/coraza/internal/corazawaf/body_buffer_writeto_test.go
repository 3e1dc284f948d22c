// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"io"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/internal/environment"
	"github.com/corazawaf/coraza/v3/types"
)

// TestBodyReaderWriteToRest checks that WriteTo (used by io.Copy) gives the
// body from where Read left off, once, in memory and from a temporary file,
// and nothing once the buffer is reset.
func TestBodyReaderWriteToRest(t *testing.T) {
	const body = "0123456789abcdefghij"
	memLimits := map[string]int64{"memory": 100}
	if environment.HasAccessToFS {
		memLimits["file"] = 4
	}
	for name, memLimit := range memLimits {
		t.Run(name, func(t *testing.T) {
			br := NewBodyBuffer(types.BodyBufferOptions{TmpPath: t.TempDir(), MemoryLimit: memLimit, Limit: 100})
			if _, err := br.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
			reader, err := br.Reader()
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, 5)
			if _, err := io.ReadFull(reader, head); err != nil {
				t.Fatal(err)
			}
			if _, ok := reader.(io.WriterTo); !ok {
				t.Fatal("the body reader is not an io.WriterTo")
			}
			var rest strings.Builder
			n, err := io.Copy(&rest, reader)
			if err != nil || n != int64(len(body)-5) || string(head)+rest.String() != body {
				t.Fatalf("read %q then copied %q (%d, %v), want %q", head, rest.String(), n, err, body)
			}
			var again strings.Builder
			if n, err := io.Copy(&again, reader); n != 0 || err != nil || again.Len() != 0 {
				t.Fatalf("a second copy gave %q (%d, %v), want nothing", again.String(), n, err)
			}
			reader2, _ := br.Reader()
			if err := br.Reset(); err != nil {
				t.Fatal(err)
			}
			var afterReset strings.Builder
			if n, err := io.Copy(&afterReset, reader2); n != 0 || err != nil {
				t.Fatalf("a reader of a reset buffer copied %q (%d, %v)", afterReset.String(), n, err)
			}
		})
	}
}
