package netlist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parapet-waf/parapet/internal/redact"
)

// FeedConfig describes a named list that Parapet keeps up to date.
type FeedConfig struct {
	// Name identifies the feed in rules, logs and the cache file name.
	Name string
	// URL is fetched over http(s); File is read from disk instead. One is required.
	URL  string
	File string
	// Format is plain, tor or csv.
	Format string
	// CSVColumn names the CSV column with the address/CIDR, or "start,end".
	CSVColumn string
	// Category is what the feed lists (tor, vpn, hosting, proxy, abuse); it
	// tags the events of matching requests.
	Category string
	// Refresh is how often the feed is fetched again (default 1h).
	Refresh time.Duration
	// Timeout bounds one fetch (default 30s).
	Timeout time.Duration
	// MaxBytes caps a download (default 64 MiB).
	MaxBytes int64
}

// DefaultFeeds are the well-known public lists, usable by name in rules
// without declaring them. None is fetched unless a rule names it.
func DefaultFeeds() []FeedConfig {
	return []FeedConfig{
		{Name: "tor-exits", URL: "https://check.torproject.org/torbulkexitlist", Format: "tor", Category: "tor"},
		{Name: "firehol-level1", URL: "https://iplists.firehol.org/files/firehol_level1.netset", Format: "plain", Category: "abuse"},
		{Name: "x4bnet-vpn", URL: "https://raw.githubusercontent.com/X4BNet/lists_vpn/main/output/vpn/ipv4.txt", Format: "plain", Category: "vpn"},
		{Name: "x4bnet-datacenter", URL: "https://raw.githubusercontent.com/X4BNet/lists_vpn/main/output/datacenter/ipv4.txt", Format: "plain", Category: "hosting"},
	}
}

// FeedStatus is what a feed last did.
type FeedStatus struct {
	Name        string    `json:"name"`
	Entries     int       `json:"entries"`
	Source      string    `json:"source"` // network, cache, file or none
	LastSuccess time.Time `json:"last_success"`
	LastError   string    `json:"last_error,omitempty"`
	Skipped     int       `json:"skipped_lines"`
}

// Feed is a list kept fresh in the background. Set is always safe to call.
type Feed struct {
	cfg      FeedConfig
	format   Format
	cacheDir string
	client   *http.Client
	log      *slog.Logger

	set    atomic.Pointer[Set]
	mu     sync.Mutex
	status FeedStatus
	meta   cacheMeta
}

type cacheMeta struct {
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Fetched      time.Time `json:"fetched"`
}

// NewFeed checks cfg and returns a feed holding an empty set until Load.
// cacheDir keeps the last good copy of URL feeds ("" disables the cache).
func NewFeed(cfg FeedConfig, cacheDir string, client *http.Client, log *slog.Logger) (*Feed, error) {
	if cfg.Name == "" || strings.ContainsAny(cfg.Name, `/\ `) {
		return nil, fmt.Errorf("feed name %q must be a plain word", cfg.Name)
	}
	if (cfg.URL == "") == (cfg.File == "") {
		return nil, fmt.Errorf("feed %q needs exactly one of url and file", cfg.Name)
	}
	if cfg.URL != "" && !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, fmt.Errorf("feed %q: url %q must be http(s)://", cfg.Name, redact.URL(cfg.URL))
	}
	format, err := ParseFormat(cfg.Format)
	if err != nil {
		return nil, fmt.Errorf("feed %q: %w", cfg.Name, err)
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 64 << 20
	}
	if client == nil {
		client = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Feed{cfg: cfg, format: format, cacheDir: cacheDir, client: client, log: log.With("feed", cfg.Name)}
	f.set.Store(new(Builder).Build())
	f.status = FeedStatus{Name: cfg.Name, Source: "none"}
	return f, nil
}

// Config is the feed's configuration (defaults filled in).
func (f *Feed) Config() FeedConfig { return f.cfg }

// Set is the current list.
func (f *Feed) Set() *Set { return f.set.Load() }

// Status reports what the feed last did.
func (f *Feed) Status() FeedStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// Start fills the feed and keeps it fresh until ctx ends. A file feed is
// read now (its error returned). A URL feed installs its cached copy now,
// if it has one, and is fetched in the background, so start-up never
// waits on the network; until the first success the cache (or an empty
// list) serves.
func (f *Feed) Start(ctx context.Context) error {
	if f.cfg.File != "" {
		err := f.Refresh(ctx)
		go f.Run(ctx)
		return err
	}
	cached := f.loadCache()
	if !cached {
		f.log.Info("feed has no cached copy yet; fetching", "url", redact.URL(f.cfg.URL))
	}
	go func() {
		if err := f.Refresh(ctx); err != nil && cached {
			f.log.Warn("feed fetch failed; serving the cached copy", "cache_age", time.Since(f.meta.Fetched).Round(time.Second).String())
		}
		f.Run(ctx)
	}()
	return nil
}

// Run refreshes the feed every Refresh (±10% jitter) until ctx ends.
func (f *Feed) Run(ctx context.Context) {
	for {
		jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(f.cfg.Refresh))
		t := time.NewTimer(f.cfg.Refresh + jitter)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		_ = f.Refresh(ctx)
	}
}

// Refresh fetches (or reads) the list now and swaps it in if it parses to
// at least one entry; otherwise the previous list stays and the error says why.
func (f *Feed) Refresh(ctx context.Context) error {
	body, source, err := f.fetch(ctx)
	if err == nil && body == nil {
		f.mu.Lock()
		f.status.LastSuccess = time.Now()
		f.status.LastError = ""
		f.mu.Unlock()
		return nil // 304: unchanged
	}
	var parsed *Parsed
	if err == nil {
		parsed, err = ParseList(bytes.NewReader(body), ParseOptions{Source: f.cfg.Name, Format: f.format, CSVColumn: f.cfg.CSVColumn, MaxErrors: 5})
	}
	if err == nil && parsed.Set.Len() == 0 {
		err = fmt.Errorf("no valid entries (%d bad lines)", parsed.Bad)
		if len(parsed.Errors) > 0 {
			err = fmt.Errorf("%w, first: %v", err, parsed.Errors[0])
		}
	}
	if err != nil {
		f.mu.Lock()
		f.status.LastError = err.Error()
		f.mu.Unlock()
		f.log.Warn("feed update failed; keeping the previous list", "error", err.Error(), "entries", f.Set().Len())
		return err
	}
	if parsed.Bad > 0 {
		msgs := make([]string, len(parsed.Errors))
		for i, e := range parsed.Errors {
			msgs[i] = e.Error()
		}
		f.log.Warn("feed lines skipped", "skipped", parsed.Bad, "first", msgs)
	}
	if source == "network" {
		// Cached before it is served: a list in use is one a restart
		// without network finds on disk.
		f.saveCache(body)
	}
	f.set.Store(parsed.Set)
	f.mu.Lock()
	f.status = FeedStatus{Name: f.cfg.Name, Entries: parsed.Set.Len(), Source: source, LastSuccess: time.Now(), Skipped: parsed.Bad}
	f.mu.Unlock()
	f.log.Info("feed updated", "entries", parsed.Set.Len(), "source", source, "skipped", parsed.Bad)
	return nil
}

// fetch returns the body and where it came from; a nil body with no
// error means the server said it has not changed.
func (f *Feed) fetch(ctx context.Context) ([]byte, string, error) {
	if f.cfg.File != "" {
		b, err := os.ReadFile(f.cfg.File)
		if err != nil {
			return nil, "", fmt.Errorf("reading %s: %w", f.cfg.File, err)
		}
		return b, "file", nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	shown := redact.URL(f.cfg.URL) // the query may hold an API key
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.cfg.URL, nil)
	if err != nil {
		return nil, "", fmt.Errorf("feed url %s: %w", shown, bareURLError(err))
	}
	req.Header.Set("User-Agent", "parapet-feed/1")
	f.mu.Lock()
	meta := f.meta
	haveSet := f.status.Entries > 0
	f.mu.Unlock()
	if haveSet {
		if meta.ETag != "" {
			req.Header.Set("If-None-Match", meta.ETag)
		}
		if meta.LastModified != "" {
			req.Header.Set("If-Modified-Since", meta.LastModified)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("fetching %s: %w", shown, bareURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && haveSet {
		return nil, "network", nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("fetching %s: HTTP %d", shown, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", shown, bareURLError(err))
	}
	if int64(len(body)) > f.cfg.MaxBytes {
		return nil, "", fmt.Errorf("fetching %s: larger than %d bytes", shown, f.cfg.MaxBytes)
	}
	f.mu.Lock()
	f.meta = cacheMeta{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Fetched: time.Now()}
	f.mu.Unlock()
	return body, "network", nil
}

func (f *Feed) cachePaths() (list, meta string) {
	return filepath.Join(f.cacheDir, f.cfg.Name+".list"), filepath.Join(f.cacheDir, f.cfg.Name+".meta.json")
}

// loadCache installs the cached copy, if there is a good one.
func (f *Feed) loadCache() bool {
	if f.cacheDir == "" {
		return false
	}
	listPath, metaPath := f.cachePaths()
	body, err := os.ReadFile(listPath)
	if err != nil {
		return false
	}
	parsed, err := ParseList(bytes.NewReader(body), ParseOptions{Source: listPath, Format: f.format, CSVColumn: f.cfg.CSVColumn, MaxErrors: 1})
	if err != nil || parsed.Set.Len() == 0 {
		return false
	}
	var meta cacheMeta
	if b, err := os.ReadFile(metaPath); err == nil {
		_ = json.Unmarshal(b, &meta)
	}
	f.set.Store(parsed.Set)
	f.mu.Lock()
	f.meta = meta
	f.status = FeedStatus{Name: f.cfg.Name, Entries: parsed.Set.Len(), Source: "cache", LastSuccess: meta.Fetched, Skipped: parsed.Bad}
	f.mu.Unlock()
	return true
}

// saveCache writes the list and its metadata atomically (temp file, rename).
func (f *Feed) saveCache(body []byte) {
	if f.cacheDir == "" {
		return
	}
	listPath, metaPath := f.cachePaths()
	f.mu.Lock()
	meta, _ := json.Marshal(f.meta)
	f.mu.Unlock()
	if err := os.MkdirAll(f.cacheDir, 0o755); err == nil {
		err = errors.Join(writeAtomic(listPath, body), writeAtomic(metaPath, meta))
		if err == nil {
			return
		}
		f.log.Warn("feed cache not written; the next start without network will not have this copy", "error", err.Error())
		return
	}
	f.log.Warn("feed cache directory not usable", "dir", f.cacheDir)
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// bareURLError drops the URL a *url.Error names (with its query: an API
// key) and keeps what went wrong; the caller names the URL redacted.
func bareURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
