package spool

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"
)

// A body replays byte for byte, from memory below the limit and from a
// temporary file above it; Content reads it again without moving Read.
func TestReplaysByteForByte(t *testing.T) {
	for _, size := range []int{0, 100, 4096, 1 << 20} {
		data := make([]byte, size)
		rand.Read(data)
		s := New(4096)
		for i := 0; i < len(data); i += 777 {
			if _, err := s.Write(data[i:min(i+777, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		if s.Len() != int64(size) || s.OnDisk() != (size > 4096) {
			t.Fatalf("%d bytes: Len %d OnDisk %v", size, s.Len(), s.OnDisk())
		}
		b := s.Body()
		if !b.Unread() {
			t.Fatal("fresh body is not unread")
		}
		head := make([]byte, min(size, 10))
		io.ReadFull(b, head)
		again, _ := io.ReadAll(b.Content())
		rest, _ := io.ReadAll(b)
		if !bytes.Equal(append(head, rest...), data) || !bytes.Equal(again, data) {
			t.Fatalf("%d bytes: replay differs", size)
		}
		if size > 0 && b.Unread() {
			t.Fatal("read body still unread")
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Read(head); err == nil {
			t.Fatal("read after close")
		}
	}
}
