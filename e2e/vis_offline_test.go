package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// A parapet the tests start with the default config starts the crawler
// range feeds (Google's and Bing's published ranges) when its config is
// activated, before any request; the harness's dead proxy
// (testenv.DeadProxy) turns those fetches into an immediate failure on
// loopback, so no test reaches the internet. The failure is logged and
// Parapet serves on.
func TestVisDefaultCrawlerFeedsStartAtActivationAndStayOffline(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	addr := testenv.FreeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "parapet.yaml")
	os.WriteFile(cfgPath, []byte("upstream: "+up.URL+"\nlisten: "+addr+"\nfeed_cache_dir: "+t.TempDir()+"\n"), 0o600)
	p := startParapet(t, addr, nil, "run", "--config", cfgPath)
	waitStatus(t, p, "/", 200)
	for _, feed := range []string{"crawler-google", "crawler-bing"} {
		line := p.waitLog(t, `"feed":"`+feed+`"`, "feed update failed")
		if !strings.Contains(line, "proxyconnect") || !strings.Contains(line, "127.0.0.1:1") {
			t.Errorf("%s's fetch did not fail at the dead proxy:\n%s", feed, line)
		}
	}
}
