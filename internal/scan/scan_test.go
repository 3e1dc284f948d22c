package scan

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRefusesHostsThatAreNotLoopback(t *testing.T) {
	for _, u := range []string{"https://example.com/", "http://10.0.0.1/", "https://[2001:db8::1]/"} {
		_, err := Run(context.Background(), Options{URL: u})
		if err == nil || !strings.Contains(err.Error(), "--allow-host") {
			t.Errorf("%s: %v", u, err)
		}
	}
	// The plain-HTTP address is checked too.
	_, err := Run(context.Background(), Options{URL: "https://127.0.0.1:1/", HTTPURL: "http://example.com/"})
	if err == nil || !strings.Contains(err.Error(), "example.com") {
		t.Errorf("http-url: %v", err)
	}
	if _, err := Run(context.Background(), Options{URL: "ftp://127.0.0.1/"}); err == nil {
		t.Error("ftp accepted")
	}
}

// A scan sends at most MaxRequests, follows no redirect chain, and reads
// each Set-Cookie it gets.
func TestScanIsBounded(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path == "/" && r.Method == "GET" && r.Header.Get("Origin") == "" && n.Load() == 1 {
			http.Redirect(w, r, "/loop/", http.StatusFound)
			return
		}
		if r.URL.Path == "/loop/" {
			http.Redirect(w, r, "/loop/", http.StatusFound) // a redirect loop
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "x"})
		w.Write([]byte("hello"))
	}))
	defer srv.Close()
	paths := make([]string, 40)
	for i := range paths {
		paths[i] = "/p/"
	}
	rep, err := Run(context.Background(), Options{URL: srv.URL + "/", Paths: paths, Pause: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Load(); got > MaxRequests {
		t.Errorf("%d requests sent, at most %d allowed", got, MaxRequests)
	}
	var cookie, redirect string
	for _, f := range rep.Findings {
		switch f.Rule.ID {
		case "cookie-flags":
			cookie = string(f.Status) + " " + f.Message
		case "https-redirect":
			redirect = string(f.Status)
		}
	}
	if !strings.Contains(cookie, "sessionid lacks HttpOnly, SameSite") || redirect != "fail" {
		t.Errorf("cookie %q, redirect %q", cookie, redirect)
	}
}
