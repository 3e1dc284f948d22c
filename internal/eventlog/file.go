package eventlog

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parapet-waf/parapet/internal/events"
)

// File defaults.
const (
	DefaultFileMaxBytes      = 100 << 20
	DefaultFileRetentionDays = 90
)

// FileOptions configure an NDJSON event file.
type FileOptions struct {
	// Path is the file written to; rotated files are Path with the time
	// of rotation inserted before the extension
	// (events.ndjson -> events-20060102T150405.000.ndjson).
	Path string
	// MaxBytes rotates the file before it would pass this size.
	MaxBytes int64
	// Retention removes rotated files older than this (0: keep them all).
	Retention time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// File writes events as NDJSON (one Record a line) to a file rotated by
// size, removing rotated files past their retention. Lines are queued and
// written by a goroutine (events.BufferedWriter), so a slow disk does not
// hold requests.
type File struct {
	rot *rotator
	w   *events.BufferedWriter
}

// OpenFile opens (appends to) o.Path, creating it and its directory.
func OpenFile(o FileOptions) (*File, error) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultFileMaxBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	rot := &rotator{o: o}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o750); err != nil {
		return nil, fmt.Errorf("events file: %w", err)
	}
	if err := rot.open(); err != nil {
		return nil, err
	}
	rot.prune()
	return &File{rot: rot, w: events.NewBufferedWriter(rot, 256<<10, 0)}, nil
}

// Write appends r as one line.
func (f *File) Write(r *Record) {
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	_, _ = f.w.Write(append(b, '\n'))
}

// Flush waits until every line written so far is in the file.
func (f *File) Flush() error { return f.w.Flush() }

// Close writes what is queued and closes the file.
func (f *File) Close() error {
	err := f.w.Close()
	if cerr := f.rot.close(); err == nil {
		err = cerr
	}
	return err
}

// rotator is the io.Writer under the BufferedWriter: it gets whole lines
// (batches of them) and rotates between batches.
type rotator struct {
	o         FileOptions
	mu        sync.Mutex
	f         *os.File
	size      int64
	lastPrune time.Time
}

func (r *rotator) open() error {
	f, err := os.OpenFile(r.o.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("events file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("events file: %w", err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

func (r *rotator) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, io.ErrClosedPipe
	}
	if r.size > 0 && r.size+int64(len(p)) > r.o.MaxBytes {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	} else if r.o.Now().Sub(r.lastPrune) > time.Hour {
		r.prune()
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// rotatedName is the name the current file is renamed to at t.
func (r *rotator) rotatedName(t time.Time) string {
	ext := filepath.Ext(r.o.Path)
	base := strings.TrimSuffix(r.o.Path, ext)
	return base + "-" + t.UTC().Format("20060102T150405.000") + ext
}

func (r *rotator) rotate() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("events file: %w", err)
	}
	name := r.rotatedName(r.o.Now())
	for i := 1; ; i++ { // two rotations in one millisecond
		if _, err := os.Stat(name); os.IsNotExist(err) {
			break
		}
		name = r.rotatedName(r.o.Now()) + fmt.Sprintf(".%d", i)
	}
	if err := os.Rename(r.o.Path, name); err != nil {
		return fmt.Errorf("events file: %w", err)
	}
	if err := r.open(); err != nil {
		return err
	}
	r.prune()
	return nil
}

// Rotated lists the rotated files, oldest first.
func (r *rotator) rotated() []string {
	ext := filepath.Ext(r.o.Path)
	base := strings.TrimSuffix(r.o.Path, ext)
	matches, _ := filepath.Glob(globEscape(base) + "-*" + ext + "*")
	var out []string
	for _, m := range matches {
		stamp := strings.TrimPrefix(m, base+"-")
		if len(stamp) >= len("20060102T150405.000") {
			if _, err := time.Parse("20060102T150405.000", stamp[:len("20060102T150405.000")]); err == nil {
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out
}

// prune removes rotated files whose last write is older than the retention.
func (r *rotator) prune() {
	r.lastPrune = r.o.Now()
	if r.o.Retention <= 0 {
		return
	}
	cutoff := r.o.Now().Add(-r.o.Retention)
	for _, name := range r.rotated() {
		if st, err := os.Stat(name); err == nil && st.ModTime().Before(cutoff) {
			_ = os.Remove(name)
		}
	}
}

func (r *rotator) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
