package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// forged is a whole HTTP response hidden where a broken upstream sends
// bytes it should not: a connection that is reused after it hands it to
// the next request, whoever sent that.
const forged = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nX-Forged: 1\r\n\r\nFORGED"

// brokenUpstream is a raw HTTP/1.1 server on loopback that answers
// GET /own/?id=N with "own:N" and breaks framing on the other paths the
// way real upstreams do: gunicorn 20.1 sends the GET body with HEAD
// answers (with their Content-Length, or unframed when the app streams),
// and with 204 and 304 when the app gave them one; a wrong
// Content-Length or bytes after a chunked body leave extra bytes on
// the connection. "late" paths send those bytes a moment after the
// headers, in a write of their own, as gunicorn does.
func brokenUpstream(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveBroken(c)
		}
	}()
	return "http://" + ln.Addr().String()
}

func serveBroken(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Expect") == "100-continue" {
			if _, err := io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
				return
			}
		}
		_, _ = io.Copy(io.Discard, req.Body)
		head, extra := "", ""
		switch req.URL.Path {
		case "/own/":
			body := "own:" + req.URL.Query().Get("id")
			head = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		case "/page/", "/page-late/": // HEAD with the GET body, as gunicorn sends it
			head, extra = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n", len(forged)), forged
		case "/stream/": // HEAD of a streamed response: gunicorn sends the body unframed
			head, extra = "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n\r\n", forged
		case "/nocontent/", "/nocontent-late/":
			head, extra = fmt.Sprintf("HTTP/1.1 204 No Content\r\nContent-Length: %d\r\n\r\n", len(forged)), forged
		case "/notmodified/", "/notmodified-late/":
			head, extra = "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n", forged
		case "/continue/": // after the interim 100 above, a 204 with a body
			head, extra = "HTTP/1.1 204 No Content\r\n\r\n", forged
		case "/short-length/": // Content-Length says 2, 2 + len(forged) bytes follow
			head, extra = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", forged
		case "/chunked-extra/":
			head, extra = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n", forged
		default:
			head = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
		}
		if strings.HasSuffix(req.URL.Path, "-late/") {
			if _, err := io.WriteString(c, head); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
			head = ""
		}
		if _, err := io.WriteString(c, head+extra); err != nil {
			return
		}
	}
}

// A broken upstream's extra bytes never become another request's
// response: while some clients send requests that leave bytes behind on
// the upstream connection, concurrent GETs each get their own answer,
// never the forged response, never a 502.
func TestBrokenUpstreamNeverAnswersAnotherRequest(t *testing.T) {
	up := brokenUpstream(t)
	cases := []struct {
		method, path string
		status       int
		body         string
	}{
		{"HEAD", "/page/", 200, ""},
		{"HEAD", "/page-late/", 200, ""},
		{"HEAD", "/stream/", 200, ""},
		{"GET", "/nocontent/", 204, ""},
		{"GET", "/nocontent-late/", 204, ""},
		{"GET", "/notmodified/", 304, ""},
		{"GET", "/notmodified-late/", 304, ""},
		{"POST", "/continue/", 204, ""},
		{"GET", "/short-length/", 200, "ok"},
		{"GET", "/chunked-extra/", 200, "ok"},
	}
	for _, tc := range cases {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			var status int
			front := httptest.NewServer(newTestProxy(t, up, &status))
			defer front.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			do := func(method, path, body string) (int, string, http.Header) {
				var rd io.Reader
				if body != "" {
					rd = strings.NewReader(body)
				}
				req, _ := http.NewRequest(method, front.URL+path, rd)
				if body != "" {
					req.Header.Set("Expect", "100-continue")
				}
				resp, err := client.Do(req)
				if err != nil {
					return 0, err.Error(), nil
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b), resp.Header
			}
			var mu sync.Mutex
			var problems []string
			report := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				if len(problems) < 8 {
					problems = append(problems, fmt.Sprintf(format, args...))
				}
			}
			var wg sync.WaitGroup
			const workers, rounds = 4, 60
			for w := 0; w < workers; w++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					for i := 0; i < rounds; i++ {
						body := ""
						if tc.method == "POST" {
							body = "a=1"
						}
						if code, got, _ := do(tc.method, tc.path, body); code != tc.status || got != tc.body {
							report("%s %s: %d %q, want %d %q", tc.method, tc.path, code, got, tc.status, tc.body)
						}
					}
				}()
				go func() {
					defer wg.Done()
					for i := 0; i < rounds; i++ {
						id := fmt.Sprintf("%d-%d", w, i)
						if code, got, h := do("GET", "/own/?id="+id, ""); code != 200 || got != "own:"+id {
							report("GET /own/?id=%s got %d %q (X-Forged %q)", id, code, got, h.Get("X-Forged"))
						}
					}
				}()
			}
			wg.Wait()
			if len(problems) > 0 {
				t.Fatalf("answers went to the wrong requests:\n%s", strings.Join(problems, "\n"))
			}
		})
	}
}

// Sequentially too: the request right after a HEAD on the same upstream
// connection gets its own answer.
func TestGetAfterHeadGetsItsOwnAnswer(t *testing.T) {
	up := brokenUpstream(t)
	var status int
	p := newTestProxy(t, up, &status)
	for i := 0; i < 50; i++ {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest("HEAD", "/page-late/", nil))
		if rec.Code != 200 || rec.Body.Len() != 0 {
			t.Fatalf("HEAD: %d %q", rec.Code, rec.Body.String())
		}
		rec = httptest.NewRecorder()
		id := fmt.Sprint(i)
		p.ServeHTTP(rec, httptest.NewRequest("GET", "/own/?id="+id, nil))
		if rec.Code != 200 || rec.Body.String() != "own:"+id {
			t.Fatalf("round %d: GET after HEAD got %d %q (X-Forged %q)", i, rec.Code, rec.Body.String(), rec.Header().Get("X-Forged"))
		}
	}
}
