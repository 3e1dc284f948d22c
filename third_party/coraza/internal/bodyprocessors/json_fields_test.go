// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package bodyprocessors

import (
	"fmt"
	"strings"
	"testing"
)

// TestReadJSONFieldsInDocumentOrder checks the flattened fields of a body
// whose keys outgrow several key arenas: every key and value, in document
// order, an array's length after its elements, and keys cut before an
// arena was replaced still intact.
func TestReadJSONFieldsInDocumentOrder(t *testing.T) {
	var body strings.Builder
	var want []jsonField
	body.WriteString(`{"items":[`)
	for i := range 300 {
		if i > 0 {
			body.WriteByte(',')
		}
		name := fmt.Sprintf("field_with_a_long_name_%03d_%s", i, strings.Repeat("x", i%40))
		fmt.Fprintf(&body, `{%q:"v%d","n":%d}`, name, i, i)
		want = append(want,
			jsonField{fmt.Sprintf("json.items.%d.%s", i, name), fmt.Sprintf("v%d", i)},
			jsonField{fmt.Sprintf("json.items.%d.n", i), fmt.Sprint(i)})
	}
	body.WriteString(`],"last":null}`)
	want = append(want, jsonField{"json.items", "300"}, jsonField{"json.last", ""})
	fields, truncated, err := readJSONFields(body.String(), 10, 0)
	if err != nil || truncated {
		t.Fatalf("err %v, truncated %v", err, truncated)
	}
	if len(fields.list) != len(want) {
		t.Fatalf("%d fields, want %d", len(fields.list), len(want))
	}
	for i := range want {
		if fields.list[i] != want[i] {
			t.Fatalf("field %d: %q, want %q", i, fields.list[i], want[i])
		}
	}
}
