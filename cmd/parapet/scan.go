package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/parapet-waf/parapet/internal/scan"
)

const scanUsage = `Usage:
  parapet scan [--format text|json|sarif] [--fail-on high|medium|low|none]
               [--http-url URL] [--path PATH]... [--allow-host HOST]
               [--ca FILE] [--timeout 10s] URL

Probes the site at URL as a browser would and checks: the redirect from plain
HTTP to HTTPS, HSTS, Secure/HttpOnly/SameSite on real Set-Cookie headers,
Content-Security-Policy, X-Frame-Options, nosniff, Referrer-Policy, a Server
header naming the software, Django's DEBUG page on a random 404 path, the
admin at /admin/, CORS reflecting an arbitrary origin and TRACE. At most 16
requests, one at a time, each bounded by --timeout.

Only loopback addresses are scanned unless --allow-host names the host: scan
only sites you are allowed to test. Each finding Parapet can enforce at the
edge prints the config that does it.

Exit status: 1 when a finding failed at or above --fail-on (default high), 2
for bad usage or an unreachable site, 0 otherwise.
`

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parapet scan", flag.ContinueOnError)
	var rf reportFlags
	rf.register(fs)
	httpURL := fs.String("http-url", "", "where plain HTTP is served, for the redirect check (default: URL with http://, port 80)")
	var paths, hosts listFlag
	fs.Var(&paths, "path", "also fetch `PATH` for its cookies (repeatable; /login/ and /accounts/login/ always)")
	fs.Var(&hosts, "allow-host", "scan this non-loopback `HOST` (repeatable)")
	caFile := fs.String("ca", "", "trust the certificates in this PEM `FILE` too (a staging site's own CA)")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request `timeout`")
	pos, code := parseWithPositional(fs, scanUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "parapet scan: one URL, got %q\n\n%s", pos, scanUsage)
		return 2
	}
	client := &http.Client{}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintf(stderr, "parapet scan: %v\n", err)
			return 2
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "parapet scan: %s: no PEM certificate\n", *caFile)
			return 2
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		client.Transport = tr
	}
	rep, err := scan.Run(ctx, scan.Options{URL: pos[0], HTTPURL: *httpURL, AllowHosts: hosts, Paths: paths,
		Client: client, Timeout: *timeout, UserAgent: "parapet-scan/" + version})
	if err != nil {
		fmt.Fprintf(stderr, "parapet scan: %v\n", err)
		return 2
	}
	status, err := rf.write(rep, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "parapet scan: %v\n", err)
	}
	return status
}
