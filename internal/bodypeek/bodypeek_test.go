package bodypeek

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/zstd"
	"github.com/parapet-waf/parapet/internal/testenv"
)

// A peeked body reaches the reader whole, whether it is shorter or longer
// than the limit, and the prefix is what was read.
func TestPeekReplaysThePrefix(t *testing.T) {
	p := New(8)
	for _, body := range []string{"", "short", "exactly8", "longer than the eight-byte limit"} {
		resp := &http.Response{Body: io.NopCloser(strings.NewReader(body))}
		prefix, whole, err := p.Peek(resp)
		if err != nil {
			t.Fatal(err)
		}
		if want := body[:min(8, len(body))]; string(prefix) != want {
			t.Errorf("%q: prefix %q, want %q", body, prefix, want)
		}
		// A body of exactly the limit may go on: only a shorter one is known whole.
		if want := len(body) < 8; whole != want {
			t.Errorf("%q: whole %v", body, whole)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != body {
			t.Errorf("replayed %q, want %q", got, body)
		}
	}
}

// A body cut short within the limit (the upstream closed before its
// Content-Length) is inspected whole, but its reader gets the error after
// the prefix, never a clean end: the client must see the response cut.
func TestPeekCutShortBodyEndsWithItsError(t *testing.T) {
	cut := io.MultiReader(strings.NewReader("part of it"), iotest.ErrReader(io.ErrUnexpectedEOF))
	resp := &http.Response{Body: io.NopCloser(cut)}
	prefix, whole, err := New(64).Peek(resp)
	if err != nil || !whole || string(prefix) != "part of it" {
		t.Fatalf("prefix %q, whole %v, %v", prefix, whole, err)
	}
	got, err := io.ReadAll(resp.Body)
	if string(got) != "part of it" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %q, %v; want the prefix, then io.ErrUnexpectedEOF", got, err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("reset") }

func TestPeekErrorLeavesTheBody(t *testing.T) {
	body := io.NopCloser(failingReader{})
	resp := &http.Response{Body: body}
	if _, _, err := New(8).Peek(resp); err == nil || resp.Body != body {
		t.Fatalf("err %v, body replaced: %v", err, resp.Body != body)
	}
}

func TestParseCodings(t *testing.T) {
	for _, c := range []struct {
		lines []string
		want  string // Codings.String(), or the error
	}{
		{nil, "identity"},
		{[]string{""}, "identity"},
		{[]string{"identity"}, "identity"},
		{[]string{"gzip"}, "gzip"},
		{[]string{"GZip"}, "gzip"},
		{[]string{"x-gzip"}, "gzip"},
		{[]string{" deflate "}, "deflate"},
		{[]string{"br"}, "br"},
		{[]string{"zstd"}, "zstd"},
		{[]string{"gzip, gzip"}, "gzip, gzip"},
		{[]string{"identity, gzip"}, "gzip"},
		{[]string{"gzip,,identity"}, "gzip"},
		{[]string{"gzip", "br"}, "gzip, br"}, // two header lines
		{[]string{"gzip, br", "zstd"}, "gzip, br, zstd"},
		{[]string{"gzip, gzip, gzip, gzip"}, `Content-Encoding "gzip, gzip, gzip, gzip": more than 3 codings stacked`},
		{[]string{"compress"}, `Content-Encoding "compress": "compress" is not a coding Parapet decodes`},
		{[]string{"gzip", "dcb"}, `Content-Encoding "gzip, dcb": "dcb" is not a coding Parapet decodes`},
		{[]string{"gzip;q=1"}, `Content-Encoding "gzip;q=1": "gzip;q=1" is not a coding Parapet decodes`},
	} {
		got, err := ParseCodings(http.Header{"Content-Encoding": c.lines})
		s := got.String()
		if err != nil {
			s = err.Error()
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Errorf("%q: %T", c.lines, err)
			}
		}
		if s != c.want {
			t.Errorf("%q: %s, want %s", c.lines, s, c.want)
		}
	}
}

func codings(t *testing.T, names ...string) Codings {
	t.Helper()
	c, err := ParseCodings(http.Header{"Content-Encoding": {strings.Join(names, ", ")}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every coding and stack of them decodes back to the text, read in small
// pieces as a proxy reads a body; deflate whether zlib-wrapped or raw.
func TestDecoderEveryCoding(t *testing.T) {
	text := []byte(strings.Repeat("Traceback (most recent call last): a page ", 2000))
	var d Decoder // reused: Reset keeps the decompressors
	for _, stack := range [][]string{
		{"gzip"}, {"x-gzip"}, {"deflate"}, {"deflate-raw"}, {"br"}, {"zstd"},
		{"gzip", "gzip"}, {"identity", "gzip"}, {"gzip", "br"}, {"br", "zstd", "deflate"}, {"deflate-raw", "gzip", "zstd"},
	} {
		names := make([]string, len(stack))
		for i, n := range stack {
			names[i] = strings.TrimSuffix(n, "-raw")
		}
		body := testenv.Encode(t, text, stack...)
		d.Reset(iotest.HalfReader(bytes.NewReader(body)), codings(t, names...))
		got, err := io.ReadAll(&d)
		if err != nil || !bytes.Equal(got, text) {
			t.Errorf("%v: %d of %d bytes, %v", stack, len(got), len(text), err)
		}
		d.Release()
	}
}

// A body that is not what its label says fails with ErrNotEncoded before
// any text; a truncated one gives what it had, then an error.
func TestDecoderBadBodies(t *testing.T) {
	text := []byte(strings.Repeat("a page about union station ", 1000))
	for _, name := range []string{"gzip", "deflate", "br", "zstd"} {
		var d Decoder
		d.Reset(strings.NewReader("plain text, no compression at all"), codings(t, name))
		got, err := io.ReadAll(&d)
		if !errors.Is(err, ErrNotEncoded) || len(got) > 0 {
			t.Errorf("%s of plain text: %q, %v", name, got, err)
		}
		full := testenv.Encode(t, text, name)
		d.Reset(bytes.NewReader(full[:len(full)/2]), codings(t, name))
		got, err = io.ReadAll(&d)
		if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.HasPrefix(text, got) {
			t.Errorf("%s truncated: %d bytes, %v", name, len(got), err)
		}
		// The body's own failure is reported as it is, not as a bad encoding.
		reset := errors.New("connection reset by peer")
		d.Reset(io.MultiReader(bytes.NewReader(full[:len(full)/2]), iotest.ErrReader(reset)), codings(t, name))
		if _, err = io.ReadAll(&d); err != reset {
			t.Errorf("%s cut by the upstream: %v", name, err)
		}
		d.Reset(iotest.ErrReader(reset), codings(t, name))
		if _, err = io.ReadAll(&d); err != reset {
			t.Errorf("%s failing at once: %v", name, err)
		}
	}
}

// A zstd frame with a window larger than browsers accept (RFC 9659: 8
// MB) is refused rather than decoded with that much memory.
func TestDecoderZstdWindowCap(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf, zstd.WithWindowSize(32<<20), zstd.WithEncoderConcurrency(1))
	zw.Write(bytes.Repeat([]byte("0123456789abcdef"), 4<<20)) // 64 MB, so the window is used
	zw.Close()
	var d Decoder
	d.Reset(bytes.NewReader(buf.Bytes()), codings(t, "zstd"))
	if _, err := io.Copy(io.Discard, &d); err == nil {
		t.Fatal("a 32 MB window was decoded")
	}
}

func TestDecode(t *testing.T) {
	orig := strings.Repeat("Traceback ", 100)
	z := testenv.Encode(t, []byte(orig), "gzip")
	if text, ok := Decode(z[:len(z)/2], codings(t, "gzip"), 1<<20); !ok || len(text) == 0 || !strings.HasPrefix(orig, string(text)) {
		t.Errorf("truncated gzip: %q %v", text, ok)
	}
	if text, ok := Decode(z, codings(t, "gzip"), 25); !ok || len(text) != 25 {
		t.Errorf("max: %d bytes, ok %v", len(text), ok)
	}
	if _, ok := Decode([]byte("plain text"), codings(t, "gzip"), 100); ok {
		t.Error("plain text taken for gzip")
	}
	if text, ok := Decode([]byte("plain"), Codings{}, 100); !ok || string(text) != "plain" {
		t.Errorf("identity: %q", text)
	}
	if text, ok := Decode(testenv.Encode(t, []byte(orig), "gzip", "zstd"), codings(t, "gzip", "zstd"), 1<<20); !ok || string(text) != orig {
		t.Errorf("gzip, zstd: %q", text)
	}
}
