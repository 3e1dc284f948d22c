package netlist

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
)

// Registry owns the running feeds across config reloads: a reload that
// names a feed with the same settings gets the running one back (no new
// download); feeds no longer named are stopped.
type Registry struct {
	ctx      context.Context
	cacheDir string
	client   *http.Client
	log      *slog.Logger

	mu    sync.Mutex
	feeds map[string]*runningFeed
}

type runningFeed struct {
	feed   *Feed
	cancel context.CancelFunc
}

// NewRegistry returns a registry whose feeds run until ctx ends, caching
// their last good copies in cacheDir.
func NewRegistry(ctx context.Context, cacheDir string, client *http.Client, log *slog.Logger) *Registry {
	return &Registry{ctx: ctx, cacheDir: cacheDir, client: client, log: log, feeds: map[string]*runningFeed{}}
}

// Feed returns the running feed for cfg, starting it if it is new or its
// settings changed.
func (r *Registry) Feed(cfg FeedConfig) (*Feed, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rf, ok := r.feeds[cfg.Name]; ok {
		if sameFeed(rf.feed.cfg, cfg) {
			return rf.feed, nil
		}
		rf.cancel()
		delete(r.feeds, cfg.Name)
	}
	f, err := NewFeed(cfg, r.cacheDir, r.client, r.log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(r.ctx)
	if err := f.Start(ctx); err != nil {
		cancel()
		return nil, err
	}
	r.feeds[cfg.Name] = &runningFeed{feed: f, cancel: cancel}
	return f, nil
}

// Running reports whether a feed with cfg's name and settings runs (Feed
// would return it without fetching).
func (r *Registry) Running(cfg FeedConfig) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rf, ok := r.feeds[cfg.Name]
	return ok && sameFeed(rf.feed.cfg, cfg)
}

// Retain stops every feed whose name is not in keep.
func (r *Registry) Retain(keep map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, rf := range r.feeds {
		if !keep[name] {
			rf.cancel()
			delete(r.feeds, name)
		}
	}
}

// Statuses reports every running feed.
func (r *Registry) Statuses() []FeedStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]FeedStatus, 0, len(r.feeds))
	for _, rf := range r.feeds {
		out = append(out, rf.feed.Status())
	}
	return out
}

func sameFeed(a, b FeedConfig) bool {
	withDefaults := func(c FeedConfig) FeedConfig {
		f, err := NewFeed(c, "", nil, nil)
		if err != nil {
			return c
		}
		return f.cfg
	}
	return withDefaults(a) == withDefaults(b)
}

// Pending is a feed a config names but does not start while it is built:
// a build that is refused (a bad reload, `parapet check`) must fetch
// nothing. The config's user starts it when the config is activated, and
// the runtime retires the feeds a new config no longer names.
type Pending struct {
	cfg  FeedConfig
	reg  *Registry
	feed atomic.Pointer[Feed]
}

// Pending returns cfg's feed, not started.
func (r *Registry) Pending(cfg FeedConfig) *Pending { return &Pending{cfg: cfg, reg: r} }

// Config is the feed's configuration.
func (p *Pending) Config() FeedConfig { return p.cfg }

// Start starts the feed, or takes over the running one with the same
// settings (Registry.Feed); a started Pending is left as it is.
func (p *Pending) Start() error {
	if p.feed.Load() != nil {
		return nil
	}
	f, err := p.reg.Feed(p.cfg)
	if err != nil {
		return err
	}
	p.feed.Store(f)
	return nil
}

// Set is the feed's list: nil (empty) until it is started and loaded.
func (p *Pending) Set() *Set {
	if f := p.feed.Load(); f != nil {
		return f.Set()
	}
	return nil
}
