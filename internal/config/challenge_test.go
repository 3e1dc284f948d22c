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

func TestChallengeCostSettingsValidated(t *testing.T) {
	cfg := Default()
	if c := cfg.Challenge; c.ClearanceTTL.String() != "1h0m0s" || c.IPv4Prefix != 32 || c.MaxDifficulty != 22 {
		t.Fatalf("defaults: clearance_ttl %v, ipv4_prefix %d, max_difficulty %d", c.ClearanceTTL, c.IPv4Prefix, c.MaxDifficulty)
	}
	for env, want := range map[string]string{
		"PARAPET_CHALLENGE_IPV4_PREFIX=8":     "challenge.ipv4_prefix: 8 must be between 16 and 32",
		"PARAPET_CHALLENGE_MAX_DIFFICULTY=33": "challenge.max_difficulty: 33 must be between 1 and 32",
	} {
		if _, err := Load("", []string{env}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", env, err, want)
		}
	}
	if _, err := Load("", []string{"PARAPET_CHALLENGE_DIFFICULTY=24", "PARAPET_CHALLENGE_IPV4_PREFIX=24"}); err != nil {
		t.Fatalf("difficulty above the default max_difficulty (no adaptation), a /24 binding: %v", err)
	}
}
