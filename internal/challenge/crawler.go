package challenge

import (
	"fmt"
	"net/http"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/netlist"
	"github.com/parapet-waf/parapet/internal/useragent"
)

// crawler is one good crawler: the User-Agent substrings that claim it
// and the feed of its published ranges. The feed is started when the
// chain is activated (Challenger.Activate), never while it is built: a
// build that is refused starts nothing, and the runtime retires the feeds
// a new chain no longer names.
type crawler struct {
	name string
	feed *netlist.Pending
}

// set returns the crawler's ranges; nil until they are known.
func (cr *crawler) set() *netlist.Set {
	if s := cr.feed.Set(); s.Len() > 0 {
		return s
	}
	return nil
}

// crawlerClaims finds which crawler a User-Agent claims to be in one
// case-insensitive pass (rule i is crawlers[i]).
type crawlerClaims struct {
	crawlers []*crawler
	claims   *useragent.Matcher
}

func newCrawlers(cfg *config.Config, feeds *netlist.Registry) (*crawlerClaims, error) {
	list := cfg.Challenge.Crawlers.List
	base := "challenge.crawlers.list"
	if len(list) == 0 {
		list = config.DefaultCrawlers()
	}
	var errs config.Errors
	var out []*crawler
	var rules []useragent.Rule
	for i, cc := range list {
		format := cc.Format
		if format == "" {
			format = "google-json"
		}
		fc := netlist.FeedConfig{Name: "crawler-" + cc.Name, URL: cc.URL, File: cc.File, Format: format, Category: "crawler", Refresh: cc.Refresh}
		if _, err := netlist.NewFeed(fc, "", nil, nil); err != nil { // checks only; nothing starts
			errs = append(errs, cfg.Errorf(fmt.Sprintf("%s[%d]", base, i), "%v", err))
			continue
		}
		out = append(out, &crawler{name: cc.Name, feed: feeds.Pending(fc)})
		rules = append(rules, useragent.Rule{Contains: cc.UserAgents})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	m, err := useragent.Compile(rules)
	if err != nil {
		return nil, cfg.Errorf("challenge.crawlers.list", "%v", err)
	}
	return &crawlerClaims{crawlers: out, claims: m}, nil
}

// crawlerOf returns the crawler r's User-Agent claims to be (nil: none,
// or its ranges are not known yet: nobody is called a liar on an empty
// list) and whether the client address is in that crawler's published ranges.
func (c *Challenger) crawlerOf(r *http.Request, info *decision.Info) (*crawler, bool) {
	if c.crawlers == nil {
		return nil, false
	}
	ua := r.Header.Get("User-Agent")
	if ua == "" {
		return nil, false
	}
	i, ok := c.crawlers.claims.First(ua)
	if !ok {
		return nil, false
	}
	cr := c.crawlers.crawlers[i]
	set := cr.set()
	if set == nil {
		return nil, false
	}
	return cr, set.Contains(info.ClientIP)
}
