package bodypeek

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A peeked body reaches the reader whole, whether it is shorter or longer
// than the limit, and the prefix is what was read.
func TestPeekReplaysThePrefix(t *testing.T) {
	p := New(8)
	for _, body := range []string{"", "short", "exactly8", "longer than the eight-byte limit"} {
		resp := &http.Response{Body: io.NopCloser(strings.NewReader(body))}
		prefix, err := p.Peek(resp)
		if err != nil {
			t.Fatal(err)
		}
		if want := body[:min(8, len(body))]; string(prefix) != want {
			t.Errorf("%q: prefix %q, want %q", body, prefix, want)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != body {
			t.Errorf("replayed %q, want %q", got, body)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("reset") }

func TestPeekErrorLeavesTheBody(t *testing.T) {
	body := io.NopCloser(failingReader{})
	resp := &http.Response{Body: body}
	if _, err := New(8).Peek(resp); err == nil || resp.Body != body {
		t.Fatalf("err %v, body replaced: %v", err, resp.Body != body)
	}
}

func TestDecode(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	orig := strings.Repeat("Traceback ", 100)
	zw.Write([]byte(orig))
	zw.Close()
	if text, ok := Decode(z.Bytes()[:z.Len()/2], "gzip", 1<<20); !ok || len(text) == 0 || !strings.HasPrefix(orig, string(text)) {
		t.Errorf("truncated gzip: %q %v", text, ok)
	}
	if text, ok := Decode(z.Bytes(), "gzip", 25); !ok || len(text) != 25 {
		t.Errorf("max: %d bytes, ok %v", len(text), ok)
	}
	if _, ok := Decode([]byte("plain text"), "gzip", 100); ok {
		t.Error("plain text taken for gzip")
	}
	if text, ok := Decode([]byte("plain"), "", 100); !ok || string(text) != "plain" {
		t.Errorf("identity: %q", text)
	}
	if !Decodable("br") || Decodable("zstd") {
		t.Error("Decodable")
	}
}
