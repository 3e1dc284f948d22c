package events

import (
	"io"
	"sync"
	"time"
)

// BufferedWriter writes log lines as they come, from its own goroutine, so
// that a request never waits for the terminal or the log drain: a line is
// handed to the underlying writer as soon as that writer is idle, and the
// lines that arrive while a write is under way are queued and written
// together by the next one. Under load this batches many lines into one
// write; when traffic is light every line goes out at once.
//
// Under load a batch is written at most once per linger interval: a line
// that comes less than the interval after the last write waits for the
// rest of it, with the lines that follow. Without it, the writer woke and
// wrote for every few requests (a goroutine wake-up and a system call,
// about 2% of a pass-through request's CPU). An idle writer (no write for
// the interval) writes a line at once.
type BufferedWriter struct {
	w      io.Writer
	max    int
	linger time.Duration
	mu     sync.Mutex
	cond   *sync.Cond // signalled when the queue gains lines, drains or closes
	buf    []byte     // queued lines
	busy   bool       // the goroutine is writing a batch
	shut   bool
	// hurry ends a linger early: the queue is half full, or Flush or
	// Close wants the lines out.
	hurry chan struct{}
	err   error // the underlying writer's last error
	done  chan struct{}
}

// NewBufferedWriter writes to w from a goroutine, queuing at most size
// bytes while a write is under way (a Write past it waits for the queue to
// drain, so that nothing is lost). Under load, writes are at least linger
// apart (0: none; a queue half full is written at once).
func NewBufferedWriter(w io.Writer, size int, linger time.Duration) *BufferedWriter {
	if size <= 0 {
		size = 64 << 10
	}
	b := &BufferedWriter{w: w, max: size, linger: linger, buf: make([]byte, 0, size), done: make(chan struct{}), hurry: make(chan struct{}, 1)}
	b.cond = sync.NewCond(&b.mu)
	go b.run()
	return b
}

func (b *BufferedWriter) run() {
	defer close(b.done)
	spare := make([]byte, 0, b.max)
	var last time.Time // when the last batch was written
	b.mu.Lock()
	for {
		for len(b.buf) == 0 && !b.shut {
			b.cond.Wait()
		}
		if len(b.buf) == 0 && b.shut {
			b.mu.Unlock()
			return
		}
		if wait := b.linger - time.Since(last); b.linger > 0 && wait > 0 && !b.shut && len(b.buf) < b.max/2 {
			// Written less than linger ago: let more lines come.
			b.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-b.hurry:
				t.Stop()
			}
			b.mu.Lock()
		}
		batch := b.buf
		b.buf, spare = spare[:0], nil
		b.busy = true
		b.cond.Broadcast() // writers waiting for room
		b.mu.Unlock()
		_, err := b.w.Write(batch)
		if b.linger > 0 {
			last = time.Now()
		}
		b.mu.Lock()
		if err != nil {
			b.err = err
		}
		b.busy = false
		spare = batch[:0]
		b.cond.Broadcast() // Flush waiting for the batch
	}
}

// Write queues p (one whole log line, as slog writes them) and returns at
// once unless the queue is full. It never splits p from the lines around it.
func (b *BufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) > 0 && len(b.buf)+len(p) > b.max && !b.shut {
		b.cond.Wait()
	}
	if b.shut {
		return 0, io.ErrClosedPipe
	}
	b.buf = append(b.buf, p...)
	b.cond.Broadcast()
	if len(b.buf) >= b.max/2 {
		b.hurryUp()
	}
	return len(p), nil
}

// Flush waits until every line queued so far has been written, and
// returns the underlying writer's last error.
func (b *BufferedWriter) Flush() error {
	b.hurryUp()
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) > 0 || b.busy {
		b.cond.Wait()
	}
	return b.err
}

// Close writes out what is queued and stops the goroutine. Writes after
// Close fail.
func (b *BufferedWriter) Close() error {
	b.mu.Lock()
	if b.shut {
		b.mu.Unlock()
		<-b.done
		return b.err
	}
	b.shut = true
	b.cond.Broadcast()
	b.mu.Unlock()
	b.hurryUp()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// hurryUp ends the goroutine's linger, if it is lingering (or the next one).
func (b *BufferedWriter) hurryUp() {
	select {
	case b.hurry <- struct{}{}:
	default:
	}
}
