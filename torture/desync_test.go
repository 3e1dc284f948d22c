package torture

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// gunicorn 20.1 answers HEAD with the GET body. Through the real parapet
// binary and the real gunicorn + Django, clients sending HEADs (one to a
// page that reflects its query: its body is a whole forged response; one
// to a JSON page) run alongside clients sending GETs whose answers carry
// their own id: every GET gets its own answer, none gets the forged
// page, none a 502.
func TestHeadNeverDesynchronisesGunicorn(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	p := startParapet(t, "unix:"+sock, transportOnly)
	forgedPage := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nX-Forged: 1\r\n\r\nFORGED"
	heads := []string{"/reflect/?text=" + url.QueryEscape(forgedPage), "/whoami/"}

	var mu sync.Mutex
	var problems []string
	counts := map[string]int{}
	report := func(kind, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		counts[kind]++
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	newClient := func() *http.Client {
		return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	}
	const clients, rounds = 4, 40
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(2)
		go func() { // HEAD
			defer wg.Done()
			hc := newClient()
			defer hc.CloseIdleConnections()
			for i := 0; i < rounds; i++ {
				path := heads[i%len(heads)]
				resp, err := hc.Head("http://" + p.addr + path)
				if err != nil {
					report("error", "HEAD %s: %v", path, err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.Header.Get("X-Forged") != "" {
					report("head", "HEAD %s: %d (X-Forged %q)", path, resp.StatusCode, resp.Header.Get("X-Forged"))
				}
			}
		}()
		go func() { // GETs, each with its own id, some read back from Django's view of the request
			defer wg.Done()
			hc := newClient()
			defer hc.CloseIdleConnections()
			for i := 0; i < rounds; i++ {
				id := fmt.Sprintf("own-%d-%d", c, i)
				if i%2 == 0 {
					resp, err := hc.Get("http://" + p.addr + "/reflect/?text=" + id)
					if err != nil {
						report("error", "GET %s: %v", id, err)
						continue
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || string(b) != id {
						report("wrong", "GET /reflect/?text=%s: %d %q (X-Forged %q)", id, resp.StatusCode, b, resp.Header.Get("X-Forged"))
					}
					continue
				}
				resp, err := hc.Get("http://" + p.addr + "/whoami/")
				if err != nil {
					report("error", "GET /whoami/: %v", err)
					continue
				}
				var who struct {
					RequestID string `json:"x_request_id"`
				}
				err = json.NewDecoder(resp.Body).Decode(&who)
				resp.Body.Close()
				if mine := resp.Header.Get("X-Request-Id"); resp.StatusCode != 200 || err != nil || who.RequestID != mine {
					report("wrong", "GET /whoami/ (request %s): %d, Django answered request %q (%v)", mine, resp.StatusCode, who.RequestID, err)
				}
			}
		}()
	}
	wg.Wait()
	p.mustBeAlive(t)
	if len(problems) > 0 {
		t.Fatalf("%v; first ones:\n%s", counts, strings.Join(problems, "\n"))
	}
}
