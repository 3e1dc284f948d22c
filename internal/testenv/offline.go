package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// DeadProxy is the HTTP(S) proxy of every parapet a test starts: a closed
// loopback port. Go's clients send every request to a host other than
// localhost or a loopback address through it, so such a request fails at
// once ("proxyconnect tcp: ... connection refused") and nothing leaves
// the machine, while the tests' own loopback servers are reached directly.
const DeadProxy = "http://127.0.0.1:1"

// OfflineEnv are the environment variables that route a started
// program's internet requests to DeadProxy (both spellings Go reads;
// NO_PROXY empty, so nothing is exempt but loopback).
func OfflineEnv() []string {
	return []string{"HTTP_PROXY=" + DeadProxy, "HTTPS_PROXY=" + DeadProxy, "http_proxy=" + DeadProxy,
		"https_proxy=" + DeadProxy, "NO_PROXY=", "no_proxy="}
}

func isProxyVar(kv string) bool {
	name, _, _ := strings.Cut(kv, "=")
	switch strings.ToUpper(name) {
	case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY":
		return true
	}
	return false
}

// LoopbackClient is an HTTP client that only dials loopback addresses (and
// localhost): anything else fails with an error naming the address,
// without a DNS lookup. Tests that run Parapet in their own process give
// it to the feeds (runtime.Options.FeedClient), so a default config's
// crawler ranges are never fetched from the internet.
func LoopbackClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip, err := netip.ParseAddr(host); (err == nil && ip.IsLoopback()) || host == "localhost" {
				return d.DialContext(ctx, network, addr)
			}
			return nil, fmt.Errorf("testenv: refusing to dial %s: tests stay on loopback", addr)
		},
	}}
}
