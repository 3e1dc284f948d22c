package config

import (
	"strings"
	"testing"
)

// The secret comes from PARAPET_SECRET (the short name) or
// PARAPET_CHALLENGE_SECRET (the key's own name, which wins), and
// `parapet check` never prints it.
func TestChallengeSecretFromEnvAndMasked(t *testing.T) {
	cfg, err := Load("", []string{"PARAPET_SECRET=short-name-secret-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Challenge.Secret != "short-name-secret-0123456789" {
		t.Fatalf("PARAPET_SECRET not applied: %q", cfg.Challenge.Secret)
	}
	cfg, err = Load("", []string{"PARAPET_SECRET=short-name-secret-0123456789", "PARAPET_CHALLENGE_SECRET=the-key-own-variable-wins"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Challenge.Secret != "the-key-own-variable-wins" {
		t.Fatalf("PARAPET_CHALLENGE_SECRET should win: %q", cfg.Challenge.Secret)
	}
	cfg.Challenge.Turnstile.Secret = "turnstile-secret-value"
	out, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"the-key-own-variable-wins", "turnstile-secret-value"} {
		if strings.Contains(string(out), s) {
			t.Fatalf("secret %q printed:\n%s", s, out)
		}
	}
	_, err = Load("", []string{"PARAPET_SECRET=abc"})
	if err == nil || !strings.Contains(err.Error(), "environment PARAPET_SECRET: challenge.secret: is too short") {
		t.Fatalf("a short PARAPET_SECRET should be refused naming the variable: %v", err)
	}
}
