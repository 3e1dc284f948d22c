// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package transformations

import (
	"reflect"
	"strings"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// ByteClasses is a set of classes of bytes (a bit per class).
type ByteClasses uint16

// The classes of bytes that make a built-in transformation change a value.
const (
	ClassNonASCII  ByteClasses = 1 << iota // 0x80-0xff
	ClassPctPlus                           // '%' '+'
	ClassAmp                               // '&'
	ClassBackslash                         // '\\'
	ClassNul                               // 0x00
	ClassUpper                             // 'A'-'Z'
	ClassLower                             // 'a'-'z'
	ClassSpace                             // '\t' '\n' '\v' '\f' '\r' ' '
	ClassSlash                             // '/'
	ClassOther                             // every other byte

	// ClassAll is every class: a transformation nothing is known of.
	ClassAll ByteClasses = 1<<iota - 1
)

// byteClass is the class of each byte.
var byteClass = func() (t [256]ByteClasses) {
	for i := range t {
		c := byte(i)
		switch {
		case c >= 0x80:
			t[i] = ClassNonASCII
		case c == '%' || c == '+':
			t[i] = ClassPctPlus
		case c == '&':
			t[i] = ClassAmp
		case c == '\\':
			t[i] = ClassBackslash
		case c == 0:
			t[i] = ClassNul
		case c >= 'A' && c <= 'Z':
			t[i] = ClassUpper
		case c >= 'a' && c <= 'z':
			t[i] = ClassLower
		case c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == ' ':
			t[i] = ClassSpace
		case c == '/':
			t[i] = ClassSlash
		default:
			t[i] = ClassOther
		}
	}
	return
}()

// ClassesOf returns the classes of value's bytes.
func ClassesOf(value string) ByteClasses {
	var m ByteClasses
	for i := 0; i < len(value); i++ {
		m |= byteClass[value[i]]
	}
	return m
}

// unchangedUnless holds, for the built-in transformations that leave a
// value as it is (the same bytes, changed false, no error) when none of
// its bytes is of some classes, those classes and the function. Each
// entry is checked by TestUnchangedUnless against the function.
var unchangedUnless = map[string]unchangedEntry{}

type unchangedEntry struct {
	fn      uintptr
	classes ByteClasses
}

// registerUnchanged fills unchangedUnless once the built-ins are
// registered (init in transformations.go).
func registerUnchanged() {
	for name, classes := range map[string]ByteClasses{
		// Decoders: nothing to decode without their escape byte.
		"urldecode":        ClassPctPlus,
		"urldecodeuni":     ClassPctPlus,
		"htmlentitydecode": ClassAmp, // html.UnescapeString: no '&', s itself
		"jsdecode":         ClassBackslash,
		"cssdecode":        ClassBackslash,
		"utf8tounicode":    ClassNonASCII,
		"removenulls":      ClassNul,
		"replacenulls":     ClassNul,
		"replacecomments":  ClassSlash, // a comment opens with "/*"
		// Case and spaces: runes, so any non-ASCII byte may change too.
		"lowercase":          ClassUpper | ClassNonASCII,
		"uppercase":          ClassLower | ClassNonASCII,
		"removewhitespace":   ClassSpace | ClassNonASCII,
		"compresswhitespace": ClassSpace | ClassNonASCII,
		"trim":               ClassSpace | ClassNonASCII,
		"trimleft":           ClassSpace | ClassNonASCII,
		"trimright":          ClassSpace | ClassNonASCII,
	} {
		unchangedUnless[name] = unchangedEntry{fn: funcOf(transformations[name]), classes: classes}
	}
}

func funcOf(t plugintypes.Transformation) uintptr {
	if t == nil {
		return 0
	}
	return reflect.ValueOf(t).Pointer()
}

// UnchangedUnless returns the classes of bytes without which t, registered
// as name, returns its input unchanged (changed false, no error): ClassAll
// for a transformation not known to do so, or t not the built-in one of
// that name (a plugin registered its own).
func UnchangedUnless(name string, t plugintypes.Transformation) ByteClasses {
	e, ok := unchangedUnless[strings.ToLower(name)]
	if !ok || t == nil || e.fn != funcOf(t) {
		return ClassAll
	}
	return e.classes
}
