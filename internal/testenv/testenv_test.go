package testenv

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The fixture itself works: the Django app answers on its socket, counts
// requests, and the DEBUG settings leak a traceback (what the leak guard
// will have to stop).
func TestDjangoFixture(t *testing.T) {
	sock := StartGunicorn(t, "")
	c := UnixClient(sock)
	before, _ := DjangoRequests(t, c, "http://app")
	for _, p := range []string{"/", "/login/", "/cookies/"} {
		resp, err := c.Get("http://app" + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		if p == "/cookies/" {
			for _, sc := range resp.Header.Values("Set-Cookie") {
				if strings.Contains(strings.ToLower(sc), "httponly") || strings.Contains(strings.ToLower(sc), "secure") {
					t.Errorf("fixture cookie already hardened: %s", sc)
				}
			}
		}
	}
	after, paths := DjangoRequests(t, c, "http://app")
	if after-before != 3 {
		t.Fatalf("counter saw %d requests, want 3: %v", after-before, paths)
	}
}

func TestDjangoDebugFixtureLeaksTraceback(t *testing.T) {
	sock := StartGunicorn(t, "testapp.settings_debug")
	resp, err := UnixClient(sock).Get("http://app/boom/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(b), "Traceback") {
		t.Fatalf("want a DEBUG traceback page, got %d", resp.StatusCode)
	}
	// Asked for gzip, the leak arrives compressed (the guard must decode it).
	req, _ := http.NewRequest("GET", "http://app/boom/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	c := UnixClient(sock)
	c.Transport.(*http.Transport).DisableCompression = true
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("debug fixture does not compress: %v", resp.Header)
	}
}
