package torture

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// writeRuleConfig writes a config whose only rule blocks /gone-<gen>/, so
// each generation is visibly different.
func writeRuleConfig(t *testing.T, path string, gen int, watch bool) {
	t.Helper()
	cfg := fmt.Sprintf("reload:\n  watch: %v\n  interval: 50ms\nrules:\n  - id: gone-%d\n    paths: [/gone-%d/]\n", watch, gen, gen)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // atomic, as deploy tools do
		t.Fatal(err)
	}
}

// load runs workers keep-alive clients against addr until stop closes and
// counts answers that are not 200 and transport errors.
func load(addr string, workers int, stop <-chan struct{}) (ok, bad *atomic.Int64, firstErr *atomic.Value, wait func()) {
	ok, bad, firstErr = new(atomic.Int64), new(atomic.Int64), new(atomic.Value)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get("http://" + addr + "/articles/?page=2")
				if err != nil {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, resp.Status)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	return ok, bad, firstErr, wg.Wait
}

// reloads counts the "config reloaded" lines p has logged.
func (p *parapet) reloads() int { return len(p.out.Lines(`"config reloaded"`)) }

func (p *parapet) waitReloads(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.reloads() < n {
		if time.Now().After(deadline) {
			t.Fatalf("reload %d not logged within 5s", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitBlocked polls path until the running config blocks it (403).
func (p *parapet) waitBlocked(t *testing.T, path string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := c.Get("http://" + p.addr + path)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusForbidden {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not blocked within 5s: the reload did not take effect", path)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Reloading the config 100 times by SIGHUP, and 20 times by changing
// the file, while 4 clients keep requesting: not one request fails, every
// reload takes effect (its rule blocks at once), and the last config is the one serving.
func TestReloadUnderLoadLosesNoRequest(t *testing.T) {
	for _, mode := range []struct {
		name  string
		watch bool
		n     int
	}{{"SIGHUP", false, 100}, {"file change", true, 20}} {
		t.Run(mode.name, func(t *testing.T) {
			up := newRawUpstream(t)
			cfg := filepath.Join(t.TempDir(), "parapet.yaml")
			writeRuleConfig(t, cfg, 0, mode.watch)
			p := startParapet(t, up.URL(), transportOnly, "--config", cfg)
			stop := make(chan struct{})
			ok, bad, firstErr, wait := load(p.addr, 4, stop)
			for i := 1; i <= mode.n; i++ {
				writeRuleConfig(t, cfg, i, mode.watch)
				if !mode.watch {
					if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
						t.Fatal(err)
					}
				}
				p.waitBlocked(t, fmt.Sprintf("/gone-%d/", i))
			}
			p.waitReloads(t, mode.n)
			time.Sleep(100 * time.Millisecond) // requests on the last chain too
			close(stop)
			wait()
			t.Logf("%d reloads; %d requests served, %d failed", p.reloads(), ok.Load(), bad.Load())
			if bad.Load() != 0 {
				t.Errorf("%d requests failed during reloads; first: %v", bad.Load(), firstErr.Load())
			}
			if ok.Load() < int64(mode.n) {
				t.Errorf("only %d requests served during %d reloads: the load was not running", ok.Load(), mode.n)
			}
			if code, _ := p.get(t, fmt.Sprintf("/gone-%d/", mode.n)); code != 403 {
				t.Errorf("the last config's rule answers %d, want 403", code)
			}
			if code, _ := p.get(t, fmt.Sprintf("/gone-%d/", mode.n-1)); code != 200 {
				t.Errorf("the previous config's rule still answers %d", code)
			}
			p.mustBeAlive(t)
		})
	}
}
