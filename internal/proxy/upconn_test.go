package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// scriptConn is a net.Conn whose reads return the script's chunks in
// turn, then io.EOF.
type scriptConn struct {
	net.Conn
	reads [][]byte
}

func (c *scriptConn) Read(b []byte) (int, error) {
	if len(c.reads) == 0 {
		return 0, io.EOF
	}
	n := copy(b, c.reads[0])
	if c.reads[0] = c.reads[0][n:]; len(c.reads[0]) == 0 {
		c.reads = c.reads[1:]
	}
	return n, nil
}

func (c *scriptConn) Write(b []byte) (int, error) { return len(b), nil }

// follow feeds stream to an upConn in reads of size bytes after a
// request by method was written, and returns the bytes handed on and
// whether the connection was ended or its framing lost.
func follow(method, stream string, size int) (passed string, ended, lost bool) {
	sc := &scriptConn{}
	for s := stream; len(s) > 0; {
		k := min(size, len(s))
		sc.reads = append(sc.reads, []byte(s[:k]))
		s = s[k:]
	}
	c := &upConn{Conn: sc}
	_, _ = io.WriteString(c, method+" / HTTP/1.1\r\nHost: a\r\n\r\n")
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.String(), c.ended, c.lost.Load()
		}
	}
}

// goConsumes is how many bytes of stream Go's HTTP/1 client reads as the
// response to method (interim 1xx responses and the body included), or
// -1 when it refuses the response or reads it until the connection ends.
func goConsumes(method, stream string) int {
	r := strings.NewReader(stream)
	br := bufio.NewReader(r)
	for range 6 {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return -1
		}
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != 101 {
			continue
		}
		if resp.StatusCode == 101 || resp.Close && resp.ContentLength < 0 && !chunked(resp) {
			return -1 // a tunnel, or a body read until EOF: nothing to follow
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return -1
		}
		return len(stream) - r.Len() - br.Buffered()
	}
	return -1
}

func chunked(resp *http.Response) bool {
	return len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
}

// The follower ends each response where Go's client does, whatever
// sizes the reads come in, keeps the connection after a well-framed
// response, and ends it after a bodiless one and at the first byte no
// response accounts for.
func TestUpConnFollowsResponses(t *testing.T) {
	cases := []struct {
		name, method, resp string
		extra              string // bytes after the response
		keep               bool   // the connection may carry the next request
	}{
		{"content-length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", "", true},
		{"content-length zero", "GET", "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", "", true},
		{"content-length repeated", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length:  2 \r\n\r\nok", "", true},
		{"bare LF lines", "GET", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "", true},
		{"extra after content-length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", forged, false},
		{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1A;name=\"v\"\r\n" + strings.Repeat("z", 26) + "\r\n0\r\n\r\n", "", true},
		{"chunked with trailers", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n", "", true},
		{"chunked long extension", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;" + strings.Repeat("e", 300) + "\r\nok\r\n0\r\n\r\n", "", true},
		{"chunked wins over content-length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", "", true},
		{"extra after chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", forged, false},
		{"HTTP/1.0 ignores transfer-encoding", "GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\n", "", true},
		{"long header line", "GET", "HTTP/1.1 200 OK\r\nSet-Cookie: " + strings.Repeat("c", 500) + "\r\nContent-Length: 2\r\n\r\nok", "", true},
		{"folded header", "GET", "HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\nContent-Length: 2\r\n\r\nok", "", true},
		{"interim responses", "GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "", true},
		{"HEAD with the GET body", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 49\r\n\r\n", forged, false},
		{"HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 49\r\n\r\n", "", false},
		{"204 with a body", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 49\r\n\r\n", forged, false},
		{"304", "GET", "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := tc.resp + tc.extra
			if n := goConsumes(tc.method, stream); n != len(tc.resp) {
				t.Fatalf("bad case: Go reads %d bytes as the response, the case says %d", n, len(tc.resp))
			}
			for size := 1; size <= len(stream); size++ {
				passed, ended, lost := follow(tc.method, stream, size)
				if lost {
					t.Fatalf("reads of %d: framing lost", size)
				}
				if passed != tc.resp {
					t.Fatalf("reads of %d: handed on %q, want %q", size, passed, tc.resp)
				}
				if ended != !tc.keep {
					t.Fatalf("reads of %d: connection ended %v, want %v", size, ended, !tc.keep)
				}
			}
		})
	}
}

// Bytes that arrive when no request was sent end the connection.
func TestUpConnEndsOnUnaskedBytes(t *testing.T) {
	c := &upConn{Conn: &scriptConn{reads: [][]byte{[]byte(forged)}}}
	n, err := c.Read(make([]byte, 100))
	if n != 0 || err != io.EOF {
		t.Fatalf("read %d %v, want 0 EOF", n, err)
	}
}

// FuzzUpConnAgreesWithGo: wherever Go's client reads a response to end
// and the connection could be reused, the follower ends it there too and
// hands on nothing after it.
func FuzzUpConnAgreesWithGo(f *testing.F) {
	f.Add("GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"+forged, 7)
	f.Add("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b\r\nok\r\n0\r\nT: 1\r\n\r\nHTTP/1.1", 3)
	f.Add("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1)
	f.Add("GET", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\nok", 5)
	f.Add("GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nzz", 2)
	f.Fuzz(func(t *testing.T, method, stream string, size int) {
		if method != "HEAD" {
			method = "GET"
		}
		size = 1 + abs(size)%64
		n := goConsumes(method, stream)
		if n < 0 {
			return // Go refuses it, or the body runs until the connection ends
		}
		passed, ended, lost := follow(method, stream, size)
		if lost {
			t.Fatalf("Go reads %d bytes as the response; the follower lost the framing", n)
		}
		if len(passed) < n {
			t.Fatalf("Go reads %d bytes as the response; the follower handed on %d", n, len(passed))
		}
		if len(passed) > n {
			t.Fatalf("the follower handed on %q past the response's end (Go reads %d bytes)", passed[n:], n)
		}
		if len(stream) > n && !ended {
			t.Fatalf("bytes after the response, but the connection was not ended")
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// BenchmarkUpConnFollow is what following the framing costs per
// response (a gunicorn-like 2 KB page read in 4 KB reads, as the
// transport's buffer does), against reading the same bytes unfollowed.
func BenchmarkUpConnFollow(b *testing.B) {
	body := strings.Repeat("content ", 256)
	resp := "HTTP/1.1 200 OK\r\nServer: gunicorn\r\nDate: Fri, 04 Dec 2026 16:15:42 GMT\r\nConnection: keep-alive\r\n" +
		"Content-Type: text/html; charset=utf-8\r\nX-Frame-Options: DENY\r\nContent-Length: 2048\r\nVary: Cookie\r\n" +
		"X-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\n\r\n" + body
	chunked := "HTTP/1.1 200 OK\r\nServer: gunicorn\r\nTransfer-Encoding: chunked\r\nContent-Type: text/csv\r\n\r\n" +
		strings.Repeat("2e\r\n"+strings.Repeat("x", 45)+"\n\r\n", 44) + "0\r\n\r\n"
	buf := make([]byte, 4096)
	for _, tc := range []struct{ name, resp string }{{"content-length", resp}, {"chunked", chunked}} {
		for _, followed := range []bool{false, true} {
			name := tc.name + "/plain"
			if followed {
				name = tc.name + "/followed"
			}
			b.Run(name, func(b *testing.B) {
				sc := &scriptConn{}
				var c net.Conn = sc
				uc := &upConn{Conn: sc}
				if followed {
					c = uc
				}
				raw := []byte(tc.resp)
				b.SetBytes(int64(len(raw)))
				b.ReportAllocs()
				for b.Loop() {
					sc.reads = append(sc.reads[:0], raw)
					uc.sent.Store(sentRequest)
					for n := 0; n < len(tc.resp); {
						k, err := c.Read(buf)
						if err != nil {
							b.Fatal(err)
						}
						n += k
					}
					if followed && uc.f.st != fIdle {
						b.Fatalf("state %d after the response", uc.f.st)
					}
				}
			})
		}
	}
}

// A response whose framing cannot be followed (Go refuses it too) leaves
// a connection that carries no further request.
func TestUpConnLostFramingRefusesTheNextRequest(t *testing.T) {
	_, _, lost := follow("GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", 4096)
	if !lost {
		t.Fatal("conflicting Content-Length values were followed")
	}
	c := &upConn{Conn: &scriptConn{}}
	c.lost.Store(true)
	if n, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); n != 0 || err != errUnframed {
		t.Fatalf("write on a lost connection: %d %v", n, err)
	}
}
