package harden

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// benchPages are response bodies the leak guard scans on every textual
// answer: bench/upstream's 2 KB page and a typical Django page with links,
// inline CSS and prose.
var benchPages = map[string][]byte{
	"bench-2KB": []byte(("<!doctype html><title>bench</title><p>" + strings.Repeat("Parapet benchmark page. ", 2048/24+1))[:2048]),
	"django-8KB": []byte(`<!DOCTYPE html><html lang="en-us"><head><title>Select article to change | Django site admin</title>
<link rel="stylesheet" href="/static/admin/css/base.css"><style>body{margin:0;padding:0;font-family:"Roboto","Lucida Grande",Verdana,Arial,sans-serif;color:#333}</style>
<meta name="viewport" content="width=device-width, initial-scale=1.0"></head><body class=" app-blog model-article change-list" data-admin-utc-offset="0">
<div id="container"><div id="header"><div id="branding"><h1 id="site-name"><a href="/admin/">Django administration</a></h1></div>
<div id="user-tools">Welcome, <strong>admin</strong>. <a href="/">View site</a> / <a href="/admin/password_change/">Change password</a> / <a href="/admin/logout/">Log out</a></div></div>
` + strings.Repeat(`<tr><td class="action-checkbox"><input type="checkbox" name="_selected_action" value="42" class="action-select"></td><th class="field-title"><a href="/admin/blog/article/42/change/">A redis and postgres primer: why your mysql queue is slow</a></th><td class="field-author">O'Brien</td><td class="field-published nowrap">Nov. 24, 2026, 3:14 p.m.</td><td><a href="https://example.com/articles/42">https://example.com/articles/42</a></td></tr>
`, 16) + `</tbody></table></div></div></body></html>`),
}

func BenchmarkLeakFind(b *testing.B) {
	g, err := newLeakGuard(config.LeakGuard{})
	if err != nil {
		b.Fatal(err)
	}
	for name, page := range benchPages {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				if f := g.find(page); f.rule != "" {
					b.Fatalf("false positive: %s", f.rule)
				}
			}
		})
	}
}

// BenchmarkLeakInspect runs whole responses through the guard as the
// proxy does (inspect, then the client reads the body): the pass-through
// cost of ordinary pages, small and large, plain and gzipped.
func BenchmarkLeakInspect(b *testing.B) {
	g, err := newLeakGuard(config.LeakGuard{})
	if err != nil {
		b.Fatal(err)
	}
	big := bytes.Repeat(benchPages["django-8KB"], 40) // 320 KB, past the inspected window
	cases := []struct {
		name string
		page []byte
		gz   bool
	}{
		{"bench-2KB", benchPages["bench-2KB"], false},
		{"django-8KB", benchPages["django-8KB"], false},
		{"django-8KB-gzip", benchPages["django-8KB"], true},
		{"django-320KB", big, false},
		{"django-320KB-gzip", big, true},
	}
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range cases {
		body := c.page
		if c.gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(c.page)
			zw.Close()
			body = buf.Bytes()
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.page)))
			b.ReportAllocs()
			info := &decision.Info{} // the chain's, on the heap, one per request
			for b.Loop() {
				resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
					Body: io.NopCloser(bytes.NewReader(body)), Request: req}
				if c.gz {
					resp.Header.Set("Content-Encoding", "gzip")
				}
				*info = decision.Info{}
				if err := g.inspect(resp, info); err != nil || info.Final.Decided() {
					b.Fatalf("inspect: %v %v", err, info.Final)
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}
