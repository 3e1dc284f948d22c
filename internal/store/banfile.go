package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// BanFile is the memory store's ban list on disk: JSON, replaced
// atomically (write to a temporary file, fsync, rename) under an advisory
// lock, so the server and `parapet ban` can both change it.
type BanFile struct {
	Path string
}

type banFileData struct {
	Bans []Ban `json:"bans"`
}

// Read returns the bans in the file (none when it does not exist yet).
func (f BanFile) Read() (map[string]Ban, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Ban{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading ban file: %w", err)
	}
	var d banFileData
	if len(data) > 0 {
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("ban file %s: %w", f.Path, err)
		}
	}
	out := make(map[string]Ban, len(d.Bans))
	for _, b := range d.Bans {
		out[b.Key] = b
	}
	return out, nil
}

// Update reads the file under an exclusive lock, lets fn change the bans,
// drops expired ones and writes the result atomically. It returns the bans
// written.
func (f BanFile) Update(now time.Time, fn func(bans map[string]Ban)) (map[string]Ban, error) {
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return nil, fmt.Errorf("ban file directory: %w", err)
	}
	lock, err := os.OpenFile(f.Path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ban file lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("ban file lock: %w", err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	bans, err := f.Read()
	if err != nil {
		return nil, err
	}
	fn(bans)
	list := make([]Ban, 0, len(bans))
	for k, b := range bans {
		if !b.Until.After(now) {
			delete(bans, k)
			continue
		}
		list = append(list, b)
	}
	sortBans(list)
	data, err := json.MarshalIndent(banFileData{Bans: list}, "", "  ")
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".bans-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("writing ban file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing ban file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing ban file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("writing ban file: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return nil, fmt.Errorf("writing ban file: %w", err)
	}
	return bans, nil
}

func (f BanFile) modTime() time.Time {
	st, err := os.Stat(f.Path)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// SortBans orders bans soonest expiry first and returns list.
func SortBans(list []Ban) []Ban {
	sortBans(list)
	return list
}

func sortBans(list []Ban) {
	sort.Slice(list, func(i, j int) bool {
		if !list[i].Until.Equal(list[j].Until) {
			return list[i].Until.Before(list[j].Until)
		}
		return list[i].Key < list[j].Key
	})
}

// memBans holds the memory store's bans; changes not yet in the file wait
// in pending and are merged into it by sync.
type memBans struct {
	mu      sync.RWMutex
	bans    map[string]Ban
	pending []banOp
	max     int
	file    *BanFile
	fileMod time.Time
	log     *slog.Logger
	now     func() time.Time
}

type banOp struct {
	remove bool
	ban    Ban
}

func newMemBans(opts MemoryOptions) (*memBans, error) {
	mb := &memBans{bans: map[string]Ban{}, max: opts.MaxBans, log: opts.Log, now: opts.Now}
	if opts.BanFile != "" {
		mb.file = &BanFile{Path: opts.BanFile}
		mb.fileMod = mb.file.modTime()
		bans, err := mb.file.Read()
		if err != nil {
			return nil, err
		}
		mb.bans = bans
	}
	return mb, nil
}

func (mb *memBans) add(b Ban, now time.Time) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if _, ok := mb.bans[b.Key]; !ok && len(mb.bans) >= mb.max {
		mb.evictLocked(now)
	}
	mb.bans[b.Key] = b
	if mb.file != nil {
		mb.pending = append(mb.pending, banOp{ban: b})
	}
}

// evictLocked drops expired bans, or else the one ending soonest.
func (mb *memBans) evictLocked(now time.Time) {
	var soonest string
	var until time.Time
	for k, b := range mb.bans {
		if !b.Until.After(now) {
			delete(mb.bans, k)
			continue
		}
		if soonest == "" || b.Until.Before(until) {
			soonest, until = k, b.Until
		}
	}
	if len(mb.bans) >= mb.max && soonest != "" {
		delete(mb.bans, soonest)
	}
}

func (mb *memBans) remove(key string, now time.Time) bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	b, ok := mb.bans[key]
	delete(mb.bans, key)
	if mb.file != nil {
		mb.pending = append(mb.pending, banOp{remove: true, ban: Ban{Key: key}})
	}
	return ok && b.Until.After(now)
}

func (mb *memBans) get(key string, now time.Time) (Ban, bool) {
	mb.mu.RLock()
	b, ok := mb.bans[key]
	mb.mu.RUnlock()
	if !ok || !b.Until.After(now) {
		return Ban{}, false
	}
	return b, true
}

func (mb *memBans) list(now time.Time) []Ban {
	mb.mu.RLock()
	out := make([]Ban, 0, len(mb.bans))
	for _, b := range mb.bans {
		if b.Until.After(now) {
			out = append(out, b)
		}
	}
	mb.mu.RUnlock()
	sortBans(out)
	return out
}

// sync merges pending changes into the ban file, or re-reads the file
// when another process (`parapet ban`) changed it.
func (mb *memBans) sync() {
	mb.mu.Lock()
	pending := mb.pending
	mb.pending = nil
	mb.mu.Unlock()
	if len(pending) == 0 && mb.file.modTime().Equal(mb.fileMod) {
		return
	}
	var err error
	var bans map[string]Ban
	if len(pending) > 0 {
		bans, err = mb.file.Update(mb.now(), func(bans map[string]Ban) {
			for _, op := range pending {
				if op.remove {
					delete(bans, op.ban.Key)
				} else {
					bans[op.ban.Key] = op.ban
				}
			}
		})
	} else {
		bans, err = mb.file.Read()
	}
	if err != nil {
		mb.log.Error("ban file not synced; bans stay in memory and are retried", "file", mb.file.Path, "error", err.Error())
		mb.mu.Lock()
		mb.pending = append(pending, mb.pending...)
		mb.mu.Unlock()
		return
	}
	mb.mu.Lock()
	// Changes made while the file was being written stay pending and on top.
	for _, op := range mb.pending {
		if op.remove {
			delete(bans, op.ban.Key)
		} else {
			bans[op.ban.Key] = op.ban
		}
	}
	mb.bans = bans
	mb.fileMod = mb.file.modTime()
	mb.mu.Unlock()
}
