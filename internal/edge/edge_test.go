package edge

import (
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
)

func TestHostAllowedLikeDjango(t *testing.T) {
	g := New(config.Edge{AllowedHosts: []string{"example.com", ".example.org", "[::1]", "LocalHost"}, AllowedMethods: []string{"GET"}}, config.Default().Limits)
	for host, want := range map[string]bool{
		"example.com":           true,
		"EXAMPLE.com:8443":      true,
		"example.com.":          true,
		"www.example.com":       false,
		"example.org":           true,
		"a.b.example.org":       true,
		"badexample.org":        false,
		"[::1]:80":              true,
		"localhost":             true,
		"":                      false,
		"example.com@evil":      false,
		"evil.com#.example.org": false,
	} {
		if got := g.HostAllowed(host); got != want {
			t.Errorf("HostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
	any := New(config.Edge{AllowedHosts: []string{"*"}, AllowedMethods: []string{"GET"}}, config.Default().Limits)
	if !any.HostAllowed("whatever") {
		t.Error("* should allow any host")
	}
}
