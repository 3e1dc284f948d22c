package spool

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"
)

// PipeChunk is the unit pipes hold memory in.
const PipeChunk = 32 << 10

// minTailRoom is the least free space in the last memory chunk worth
// reading into; below it a new chunk is taken.
const minTailRoom = 4 << 10

// ErrPipeClosed is what a pipe's writer gets once the reader has closed it.
var ErrPipeClosed = errors.New("spool: pipe closed by its reader")

// Budget bounds what the pipes sharing it hold: in memory, each at most
// MemPerPipe and all together at most Mem bytes; in their temporary files,
// each at most DiskPerPipe and all together at most Disk bytes. Past the
// bounds a pipe's writer waits for its reader (the pipe then moves at the
// reader's pace, one chunk at a time). Safe for concurrent use.
type Budget struct {
	MemPerPipe, Mem   int64
	DiskPerPipe, Disk int64

	mem, disk atomic.Int64
	chunks    sync.Pool // of *[]byte, PipeChunk bytes
}

// InUse reports the bytes of memory and of temporary files the pipes hold
// now.
func (b *Budget) InUse() (mem, disk int64) { return b.mem.Load(), b.disk.Load() }

func (b *Budget) getChunk() []byte {
	if c, ok := b.chunks.Get().(*[]byte); ok {
		return (*c)[:0]
	}
	return make([]byte, 0, PipeChunk)
}

func (b *Budget) putChunk(c []byte) { b.chunks.Put(&c) }

// take reserves n bytes of counter c within limit; it reports whether it
// could.
func take(c *atomic.Int64, n, limit int64) bool {
	if c.Add(n) <= limit {
		return true
	}
	c.Add(-n)
	return false
}

// Account is one owner's share of a Budget (a client's, for responses):
// the memory and file bytes its pipes hold together, at most Limit. A
// pipe charged to a spent account waits for its reader as a pipe does when
// the budget is spent, so one owner cannot spend what everybody shares.
type Account struct {
	limit int64
	held  atomic.Int64
}

// NewAccount returns an account of limit bytes (0 or less: no limit).
func NewAccount(limit int64) *Account {
	if limit <= 0 {
		limit = math.MaxInt64
	}
	return &Account{limit: limit}
}

// Held is the bytes the account's pipes hold now.
func (a *Account) Held() int64 {
	if a == nil {
		return 0
	}
	return a.held.Load()
}

// Spent reports whether the account holds its whole limit.
func (a *Account) Spent() bool { return a != nil && a.held.Load() >= a.limit }

// charge reserves n bytes of counter c (within limit) and of the account
// (within its limit), both or neither.
func (a *Account) charge(c *atomic.Int64, n, limit int64) bool {
	if !take(c, n, limit) {
		return false
	}
	if a != nil && !take(&a.held, n, a.limit) {
		c.Add(-n)
		return false
	}
	return true
}

// add moves the account by n (may be negative) without a limit.
func (a *Account) add(n int64) {
	if a != nil {
		a.held.Add(n)
	}
}

// Pipe is a buffer between one writer and one reader that each go at
// their own pace (a proxied response: the upstream's body is read as fast
// as the app sends it, the client takes it as fast as it reads). What is
// written is held in memory chunks, within the Budget, then in an
// unlinked temporary file, and read back in order. The writer waits only
// when the budget is spent, until the reader has taken what the pipe
// holds.
//
// ReadFrom and CloseWrite are the writer's, Read and Close the reader's;
// each side is used by one goroutine at a time.
type Pipe struct {
	b    *Budget
	acct *Account // nil: the budget alone
	mu   sync.Mutex
	cond sync.Cond // signalled when either side moves

	// Memory: chunks[0][off:] is the oldest unread data. Only the writer
	// writes, and only past the last chunk's length (its free room); it
	// publishes what it wrote by extending the length, under mu.
	chunks  [][]byte
	off     int
	spare   [][]byte // read chunks kept for the writer (no pool churn)
	memHeld int64    // capacity of the chunks held (spares too), in b.mem

	// The file holds data newer than all chunks: [roff, woff) is unread.
	// Only the writer moves woff (back to 0 once the reader caught up).
	file       *os.File
	roff, woff int64
	fileSize   int64 // the file's length, in b.disk

	werr    error // set once the writer is done: io.EOF or its error
	rclosed bool  // the reader is done
	freed   bool
}

// NewPipe returns an empty pipe within b.
func NewPipe(b *Budget) *Pipe { return NewPipeFor(b, nil) }

// NewPipeFor returns an empty pipe within b and within a's share of it
// (a nil: b alone).
func NewPipeFor(b *Budget, a *Account) *Pipe {
	p := &Pipe{b: b, acct: a}
	p.cond.L = &p.mu
	return p
}

// ReadFrom reads r until it ends (a nil error) or fails, holding what it
// reads for the reader. It stops with ErrPipeClosed once the reader has
// closed the pipe.
func (p *Pipe) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	var scratch []byte // for reads bound for the file
	defer func() {
		if scratch != nil {
			p.b.putChunk(scratch)
		}
	}()
	for {
		region, fileN, fresh, err := p.room()
		if err != nil {
			return total, err
		}
		toFile := fileN > 0
		if toFile {
			if scratch == nil {
				scratch = p.b.getChunk()
			}
			region = scratch[:fileN]
		}
		n, rerr := r.Read(region)
		if n > 0 {
			if toFile {
				if _, err := p.file.WriteAt(region[:n], p.woff); err != nil {
					return total, fmt.Errorf("spooling a response: %w", err)
				}
			}
			total += int64(n)
		}
		p.commit(n, toFile, fresh)
		if rerr != nil {
			if rerr == io.EOF {
				return total, nil
			}
			return total, rerr
		}
	}
}

// room finds where the next read goes: the free room of the last memory
// chunk, a fresh chunk (fresh), or the file at woff (fileN bytes may be
// written there). It waits while the budget allows neither and the
// reader has not taken everything.
func (p *Pipe) room() (region []byte, fileN int64, fresh []byte, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.rclosed {
			return nil, 0, nil, ErrPipeClosed
		}
		if p.roff == p.woff {
			// The file is drained: memory may be used again, and the
			// file is written from its start.
			p.roff, p.woff = 0, 0
			if n := len(p.chunks); n > 0 {
				if last := p.chunks[n-1]; cap(last)-len(last) >= minTailRoom {
					return last[len(last):cap(last)], 0, nil, nil
				}
			}
			if n := len(p.spare); n > 0 {
				c := p.spare[n-1]
				p.spare = p.spare[:n-1]
				return c[:cap(c)], 0, c[:0], nil
			}
			if p.memHeld+PipeChunk <= p.b.MemPerPipe && p.acct.charge(&p.b.mem, PipeChunk, p.b.Mem) {
				p.memHeld += PipeChunk
				c := p.b.getChunk()
				return c[:cap(c)], 0, c, nil
			}
		}
		if n := p.fileRoom(); n > 0 {
			if p.file == nil {
				f, err := os.CreateTemp("", "parapet-response-*")
				if err != nil {
					return nil, 0, nil, fmt.Errorf("spooling a response: %w", err)
				}
				_ = os.Remove(f.Name()) // unlinked: the data goes away with the handle
				p.file = f
			}
			return nil, n, nil, nil
		}
		if p.empty() {
			// Nothing held and no budget left: one chunk over it, so the
			// pipe still moves, at the reader's pace.
			p.b.mem.Add(PipeChunk)
			p.acct.add(PipeChunk)
			p.memHeld += PipeChunk
			c := p.b.getChunk()
			return c[:cap(c)], 0, c, nil
		}
		p.cond.Wait()
	}
}

// fileRoom is how much may be written to the file at woff now (up to a
// chunk), growing it within the budget.
func (p *Pipe) fileRoom() int64 {
	want := min(int64(PipeChunk), p.b.DiskPerPipe-p.woff)
	if want <= 0 {
		return 0
	}
	if grow := p.woff + want - p.fileSize; grow > 0 {
		if !p.acct.charge(&p.b.disk, grow, p.b.Disk) {
			want = p.fileSize - p.woff // what the file has already
			if want <= 0 {
				return 0
			}
		} else {
			p.fileSize += grow
		}
	}
	return want
}

// empty reports that the reader has taken everything written.
func (p *Pipe) empty() bool {
	for i, c := range p.chunks {
		if i == 0 && p.off < len(c) || i > 0 && len(c) > 0 {
			return false
		}
	}
	return p.roff == p.woff
}

// commit publishes n bytes read into the region room gave.
func (p *Pipe) commit(n int, toFile bool, fresh []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case toFile:
		p.woff += int64(n)
	case fresh != nil && n == 0:
		p.release(fresh)
	case fresh != nil:
		p.chunks = append(p.chunks, fresh[:n])
	default:
		last := len(p.chunks) - 1
		p.chunks[last] = p.chunks[last][:len(p.chunks[last])+n]
	}
	if n > 0 {
		p.cond.Broadcast()
	}
}

// CloseWrite ends the pipe: the reader gets err (io.EOF when nil) once
// it has read everything.
func (p *Pipe) CloseWrite(err error) {
	if err == nil {
		err = io.EOF
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.werr = err
	p.cond.Broadcast()
	if p.rclosed {
		p.free()
	}
}

// Read reads what was written, in order, waiting for the writer when it
// has taken everything.
func (p *Pipe) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	for {
		if p.rclosed {
			p.mu.Unlock()
			return 0, io.ErrClosedPipe
		}
		// Memory first: it holds the older data.
		for len(p.chunks) > 0 {
			c := p.chunks[0]
			if p.off < len(c) {
				// Published bytes do not change: copy outside the lock.
				p.mu.Unlock()
				n := copy(b, c[p.off:])
				p.mu.Lock()
				p.off += n
				p.cond.Broadcast()
				p.mu.Unlock()
				return n, nil
			}
			if len(p.chunks) == 1 && p.werr == nil && cap(c)-len(c) >= minTailRoom {
				break // the writer may still fill its free room
			}
			p.dropFirst()
		}
		if p.roff < p.woff {
			at, n := p.roff, min(int64(len(b)), p.woff-p.roff)
			p.mu.Unlock()
			m, err := p.file.ReadAt(b[:n], at)
			p.mu.Lock()
			p.roff += int64(m)
			p.cond.Broadcast()
			p.mu.Unlock()
			if m == 0 && err != nil {
				return 0, fmt.Errorf("reading a spooled response: %w", err)
			}
			return m, nil
		}
		if p.werr != nil {
			err := p.werr
			p.mu.Unlock()
			return 0, err
		}
		p.cond.Wait()
	}
}

// dropFirst gives the oldest chunk, read to its end, back.
func (p *Pipe) dropFirst() {
	p.release(p.chunks[0])
	p.chunks[0] = nil
	p.chunks = p.chunks[1:]
	p.off = 0
}

// maxSpare is how many read chunks a pipe keeps for its writer.
const maxSpare = 4

// release keeps a chunk nobody reads any more for the writer, or gives it
// back to the budget.
func (p *Pipe) release(c []byte) {
	if len(p.spare) < maxSpare {
		p.spare = append(p.spare, c[:0])
		return
	}
	p.b.putChunk(c)
	p.memHeld -= PipeChunk
	p.b.mem.Add(-PipeChunk)
	p.acct.add(-PipeChunk)
}

// Close ends the reader's side: a writer waiting for room or writing
// next gets ErrPipeClosed. Memory and the file are released once both
// sides are done.
func (p *Pipe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rclosed = true
	p.cond.Broadcast()
	if p.werr != nil {
		p.free()
	}
	return nil
}

// free releases the chunks and the file (both sides are done).
func (p *Pipe) free() {
	if p.freed {
		return
	}
	p.freed = true
	for _, c := range p.chunks {
		p.b.putChunk(c)
	}
	for _, c := range p.spare {
		p.b.putChunk(c)
	}
	p.chunks, p.spare = nil, nil
	p.b.mem.Add(-p.memHeld)
	p.acct.add(-p.memHeld - p.fileSize)
	p.memHeld = 0
	if p.file != nil {
		_ = p.file.Close()
		p.file = nil
	}
	p.b.disk.Add(-p.fileSize)
	p.fileSize = 0
}
