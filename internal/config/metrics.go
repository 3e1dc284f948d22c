package config

import (
	"net"
	"strings"
)

// Metrics configures the Prometheus endpoint. It is off unless a listen
// address or a token is set: a private listener (off the public port), or
// a path on the public listener that answers only with the bearer token
// (the Heroku way, where only $PORT is reachable).
type Metrics struct {
	// Listen serves metrics on their own address (e.g. 127.0.0.1:9100),
	// never on the public listener.
	Listen string `yaml:"listen"`
	// Token, when set, also serves metrics on the public listener at Path
	// to requests with "Authorization: Bearer <token>" (at least 16 characters).
	Token string `yaml:"token" secret:"true"`
	// Path is where metrics are served (both listeners).
	Path string `yaml:"path"`
}

// validateMetrics checks the metrics section.
func (c *Config) validateMetrics(bad func(path, format string, args ...any)) {
	m := c.Metrics
	if m.Listen != "" {
		if _, _, err := net.SplitHostPort(m.Listen); err != nil {
			bad("metrics.listen", "%q is not host:port (e.g. 127.0.0.1:9100)", m.Listen)
		}
	}
	if m.Token != "" && len(m.Token) < 16 {
		bad("metrics.token", "is too short to guess-proof the public metrics path (at least 16 characters)")
	}
	if !strings.HasPrefix(m.Path, "/") {
		bad("metrics.path", "%q must start with /", m.Path)
	}
}
