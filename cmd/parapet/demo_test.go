package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// Every request the demo tells the user to try gets the status it says,
// and the log line names the rule it says: the printed list and the
// behaviour cannot drift apart (the demo said detect-java where the log
// said detect-rce).
func TestDemoSaysWhatItDoes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var logs, told testenv.Buffer
	done := make(chan int)
	go func() { done <- cmdDemo(ctx, []string{"--listen", addr}, &logs, &told) }()
	defer func() {
		cancel()
		<-done
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo did not answer: %v\n%s", err, told.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	base := "http://" + strings.Replace(addr, "127.0.0.1", "localhost", 1)
	for i, try := range demoTries {
		if !strings.Contains(told.String(), try.curl(base)+"\n      "+try.what()) {
			t.Errorf("the demo does not print %q", try.curl(base))
		}
		method := try.method
		if method == "" {
			method = "GET"
		}
		req, _ := http.NewRequest(method, "http://"+addr+try.path, nil)
		// A distinct User-Agent finds this request's log line.
		ua := fmt.Sprintf("demo-test-%d", i)
		req.Header.Set("User-Agent", ua)
		if name, value, ok := strings.Cut(try.header, ": "); ok {
			if name == "Host" {
				req.Host = value
			} else {
				req.Header.Set(name, value)
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != try.status {
			t.Errorf("%s: %d, the demo says %d\n%s", try.curl(base), resp.StatusCode, try.status, body)
		}
		if try.header == "Accept: application/json" && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: Content-Type %q", try.curl(base), resp.Header.Get("Content-Type"))
		}
		if try.rule == "" {
			continue
		}
		status := fmt.Sprintf(`"status":%d`, try.status)
		var line string
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if l := logs.Lines(status, `"`+try.rule); len(l) > 0 {
				line = l[len(l)-1]
				break
			}
		}
		if line == "" {
			t.Errorf("%s: no log line with %s and rule %s; the last lines:\n%s", try.curl(base), status, try.rule, tail(logs.String(), 3))
		}
	}
	// The login loop: 5 answers from the app, then 429 from rl-login.
	var codes []int
	for range 7 {
		resp, err := client.Post("http://"+addr+"/login/", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[4] == 429 || codes[6] != 429 {
		t.Errorf("login loop: %v, the demo says 5 answers then 429", codes)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
