// Copyright 2026 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package operators

// RxPrefilter is prefilterFunc for experimental.RxPrefilter (Parapet patch).
func RxPrefilter(pattern string) func(string) bool { return prefilterFunc(pattern) }
