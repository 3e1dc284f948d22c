// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package coraza

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPMFromFileReloadReadsTheNewFile edits a phrase file between two
// WAFs built from the same rules (a configuration reload): the second WAF
// must look for the file's new phrases, not reuse the first one's
// automaton, memoized under the file's path.
func TestPMFromFileReloadReadsTheNewFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "rules.conf")
	data := filepath.Join(dir, "phrases.data")
	rules := "SecRuleEngine On\nSecRule ARGS \"@pmFromFile phrases.data\" \"id:1,phase:1,deny,status:403\"\n"
	if err := os.WriteFile(conf, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	blocked := func(waf WAF, value string) bool {
		tx := waf.NewTransaction()
		defer tx.Close()
		tx.ProcessURI("/?q="+value, "GET", "HTTP/1.1")
		return tx.ProcessRequestHeaders() != nil
	}
	build := func(phrases string) WAF {
		if err := os.WriteFile(data, []byte(phrases), 0o600); err != nil {
			t.Fatal(err)
		}
		waf, err := NewWAF(NewWAFConfig().WithDirectivesFromFile(conf))
		if err != nil {
			t.Fatal(err)
		}
		return waf
	}

	first := build("oldphrase\n")
	if !blocked(first, "xoldphrasex") || blocked(first, "xnewphrasex") {
		t.Fatal("the first WAF does not look for the first file's phrase alone")
	}
	second := build("newphrase\n")
	if !blocked(second, "xnewphrasex") {
		t.Error("after the file changed, the new WAF does not look for its new phrase")
	}
	if blocked(second, "xoldphrasex") {
		t.Error("after the file changed, the new WAF still looks for its old phrase")
	}
	// The first WAF keeps what it was built with.
	if !blocked(first, "xoldphrasex") || blocked(first, "xnewphrasex") {
		t.Error("building the second WAF changed the first one's phrases")
	}
}
