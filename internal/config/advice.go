package config

import (
	"fmt"
	"slices"
	"strings"
)

// Warnings are settings that are valid but may not do what was meant.
// Parapet logs them when a config is applied (start, reload), and
// `parapet check` prints them; none refuses the config.
func (c *Config) Warnings() []string {
	var out []string
	for i, r := range c.Rules {
		if len(r.CountriesExcept) == 0 || r.Action == "allow" {
			continue
		}
		if slices.ContainsFunc(r.CountriesExcept, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "ZZ") }) {
			continue
		}
		e := c.Errorf(fmt.Sprintf("rules[%d].countries_except", i),
			"rule %q also matches clients without a country (ZZ): loopback and private addresses (your own machine, "+
				"other services on your network, or every client when trusted_proxies is missing) and addresses the geo "+
				"database does not know. Add ZZ to countries_except to let them through", r.ID)
		out = append(out, e.Error())
	}
	return out
}
