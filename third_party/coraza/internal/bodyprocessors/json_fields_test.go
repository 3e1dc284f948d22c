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

// TestJSONFieldsEmittedAsListed checks that the walk hands the processors
// (emit) the fields the list holds, in the same order, with the same
// truncation and error, for whole, truncated, over-budget and broken
// bodies (the processors add what was found before an error).
func TestJSONFieldsEmittedAsListed(t *testing.T) {
	bodies := []struct {
		body          string
		argumentLimit int
	}{
		{`{"a":1,"b":"two","c":[10,20],"d":{"e":null,"f":true}}`, 0},
		{`{"a":1,"b":"two","c":[10,20],"d":{"e":null,"f":true}}`, 3},
		{`[{"x":"1"},{"x":"2"},{"X":"3"}]`, 0},
		{`{"a":"1","b":[1,2,3`, 0},
		{`{"a":{"b":{"c":{"d":{"e":{"f":"deep"}}}}}}`, 0},
		{`{"k":"` + strings.Repeat("v", 5000) + `"}`, 0},
	}
	for _, tc := range bodies {
		listed, truncated, err := readJSONFields(tc.body, 4, tc.argumentLimit)
		var emitted []jsonField
		truncated2, err2 := readJSONFieldsTo(tc.body, 4, tc.argumentLimit, &jsonFields{emit: func(k, v string) {
			emitted = append(emitted, jsonField{k, v})
		}})
		if truncated != truncated2 || fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Errorf("%.40q: listed truncated %v err %v, emitted truncated %v err %v", tc.body, truncated, err, truncated2, err2)
		}
		if fmt.Sprint(listed.list) != fmt.Sprint(emitted) {
			t.Errorf("%.40q: listed %.200q, emitted %.200q", tc.body, listed.list, emitted)
		}
		if len(emitted) == 0 && err == nil {
			t.Errorf("%.40q: no field", tc.body)
		}
	}
}
