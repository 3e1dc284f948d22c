package spool

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"
	"time"
)

// trickle reads data in pieces of random sizes, as an upstream sends.
type trickle struct {
	data []byte
	rnd  *mrand.Rand
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+t.rnd.IntN(9000))], t.data)
	t.data = t.data[n:]
	return n, nil
}

// readAll reads p to its end in pieces of random sizes, pausing now and
// then when asked to.
func readAll(t *testing.T, p *Pipe, rnd *mrand.Rand, pause bool) []byte {
	t.Helper()
	var out bytes.Buffer
	buf := make([]byte, 40000)
	for {
		if pause && rnd.IntN(20) == 0 {
			time.Sleep(time.Millisecond)
		}
		n, err := p.Read(buf[:1+rnd.IntN(len(buf)-1)])
		out.Write(buf[:n])
		if err == io.EOF {
			return out.Bytes()
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
}

// Whatever the budget (memory only, memory then file, file reused once the
// reader caught up, nothing left but one chunk at a time), the reader gets
// the bytes written, in order, and the budget is all given back.
func TestPipeKeepsOrderWithinAnyBudget(t *testing.T) {
	data := make([]byte, 3<<20)
	rand.Read(data)
	for _, tc := range []struct {
		name string
		b    *Budget
	}{
		{"memory", &Budget{MemPerPipe: 8 << 20, Mem: 8 << 20, DiskPerPipe: 0, Disk: 0}},
		{"memory then file", &Budget{MemPerPipe: 256 << 10, Mem: 1 << 20, DiskPerPipe: 1 << 30, Disk: 1 << 30}},
		{"small file", &Budget{MemPerPipe: 64 << 10, Mem: 1 << 20, DiskPerPipe: 100 << 10, Disk: 1 << 30}},
		{"no memory", &Budget{MemPerPipe: 0, Mem: 0, DiskPerPipe: 1 << 30, Disk: 1 << 30}},
		{"nothing", &Budget{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(4) {
				rnd := mrand.New(mrand.NewPCG(seed, 1))
				b := tc.b
				p := NewPipe(b)
				werr := make(chan error, 1)
				go func() {
					_, err := p.ReadFrom(&trickle{data: data, rnd: mrand.New(mrand.NewPCG(seed, 2))})
					p.CloseWrite(err)
					werr <- err
				}()
				got := readAll(t, p, rnd, seed%2 == 0)
				if err := <-werr; err != nil {
					t.Fatal(err)
				}
				p.Close()
				if !bytes.Equal(got, data) {
					t.Fatalf("seed %d: read %d bytes, not the %d written in order", seed, len(got), len(data))
				}
				if mem, disk := b.InUse(); mem != 0 || disk != 0 {
					t.Fatalf("after both sides closed: %d bytes of memory and %d of disk still held", mem, disk)
				}
			}
		})
	}
}

// The writer does not wait for a reader that reads nothing: it writes
// everything (memory within the budget, the rest to the file) and ends.
// The memory held stays within the budget.
func TestPipeWriterDoesNotWaitForTheReader(t *testing.T) {
	data := make([]byte, 5<<20)
	rand.Read(data)
	b := &Budget{MemPerPipe: 1 << 20, Mem: 1 << 20, DiskPerPipe: 1 << 30, Disk: 1 << 30}
	p := NewPipe(b)
	done := make(chan error, 1)
	go func() {
		_, err := p.ReadFrom(bytes.NewReader(data))
		p.CloseWrite(err)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the writer waited for a reader that reads nothing")
	}
	mem, disk := b.InUse()
	if mem > 1<<20 || disk < 4<<20 {
		t.Fatalf("5 MB written, nothing read: %d bytes in memory (budget 1 MB), %d on disk", mem, disk)
	}
	got, err := io.ReadAll(p)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	p.Close()
	if mem, disk := b.InUse(); mem != 0 || disk != 0 {
		t.Fatalf("after close: %d bytes of memory and %d of disk held", mem, disk)
	}
}

// Past the whole budget the writer waits for the reader; closing the
// reader's side ends the wait with ErrPipeClosed and frees everything
// once the writer is done.
func TestPipeOverBudgetWaitsAndCloseReleases(t *testing.T) {
	b := &Budget{MemPerPipe: 64 << 10, Mem: 64 << 10, DiskPerPipe: 64 << 10, Disk: 64 << 10}
	p := NewPipe(b)
	done := make(chan error, 1)
	go func() {
		_, err := p.ReadFrom(bytes.NewReader(make([]byte, 1<<20)))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the writer wrote 1 MB into a 128 KB budget: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if mem, disk := b.InUse(); mem > 64<<10 || disk > 64<<10 {
		t.Fatalf("over budget: %d in memory, %d on disk", mem, disk)
	}
	p.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrPipeClosed) {
			t.Fatalf("writer after the reader closed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the reader's side did not end the writer's wait")
	}
	p.CloseWrite(ErrPipeClosed)
	if mem, disk := b.InUse(); mem != 0 || disk != 0 {
		t.Fatalf("after both sides closed: %d bytes of memory and %d of disk held", mem, disk)
	}
}

// The reader gets each piece as soon as it is written (a stream stays a
// stream), and the writer's error after the data.
func TestPipePassesPiecesAtOnceAndTheError(t *testing.T) {
	b := &Budget{MemPerPipe: 1 << 20, Mem: 1 << 20, DiskPerPipe: 1 << 20, Disk: 1 << 20}
	p := NewPipe(b)
	pr, pw := io.Pipe()
	boom := errors.New("upstream reset")
	go func() {
		_, err := p.ReadFrom(pr)
		p.CloseWrite(err)
	}()
	buf := make([]byte, 100)
	for _, piece := range []string{"data: one\n\n", "data: two\n\n"} {
		go pw.Write([]byte(piece))
		n, err := p.Read(buf)
		if err != nil || string(buf[:n]) != piece {
			t.Fatalf("read %q, %v; want %q at once", buf[:n], err, piece)
		}
	}
	pw.CloseWithError(boom)
	if _, err := p.Read(buf); !errors.Is(err, boom) {
		t.Fatalf("after the data: %v, want the writer's error", err)
	}
	p.Close()
}

// One account (one client) cannot spend what all pipes share: its pipes
// stop at its limit and wait for their readers, while a pipe of another
// account still reads its whole body ahead; closing gives the share back.
func TestPipeAccountKeepsOneOwnerToItsShare(t *testing.T) {
	b := &Budget{MemPerPipe: 64 << 10, Mem: 64 << 10, DiskPerPipe: 8 << 20, Disk: 8 << 20}
	greedy, other := NewAccount(2<<20), NewAccount(2<<20)
	var pipes []*Pipe
	writers := make(chan error, 4)
	for i := 0; i < 3; i++ {
		p := NewPipeFor(b, greedy)
		pipes = append(pipes, p)
		go func() {
			_, err := p.ReadFrom(bytes.NewReader(make([]byte, 4<<20)))
			writers <- err
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for !greedy.Spent() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	// Each of its pipes may hold one chunk over the share when it holds
	// nothing else (so that it still moves, at its reader's pace): with
	// three writers racing, two or three can be there at once.
	if over := int64(len(pipes)) * PipeChunk; !greedy.Spent() || greedy.Held() > 2<<20+over {
		t.Fatalf("the greedy account holds %d bytes (share 2 MB, and a chunk for each of its %d pipes)", greedy.Held(), len(pipes))
	}
	if _, disk := b.InUse(); disk > 2<<20+PipeChunk {
		t.Fatalf("the greedy account's pipes hold %d bytes of disk, past its share", disk)
	}
	p := NewPipeFor(b, other)
	done := make(chan error, 1)
	go func() {
		_, err := p.ReadFrom(bytes.NewReader(make([]byte, 1<<20)))
		p.CloseWrite(err)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("another client's response waited: one client spent the shared budget")
	}
	p.Close()
	for _, p := range pipes {
		p.Close()
	}
	for range pipes {
		if err := <-writers; !errors.Is(err, ErrPipeClosed) {
			t.Fatalf("writer: %v", err)
		}
	}
	for _, p := range pipes {
		p.CloseWrite(ErrPipeClosed)
	}
	if greedy.Held() != 0 || other.Held() != 0 {
		t.Fatalf("accounts after close: %d, %d", greedy.Held(), other.Held())
	}
	if mem, disk := b.InUse(); mem != 0 || disk != 0 {
		t.Fatalf("budget after close: %d, %d", mem, disk)
	}
}
