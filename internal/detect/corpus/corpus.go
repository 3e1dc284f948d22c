// Package corpus loads and replays the request corpora under
// testdata/detect: legitimate Django traffic that attack detection must
// let through (legit.yaml) and attacks it must stop (attacks.yaml).
//
// A corpus is a YAML list of requests. Replaying one needs a running
// Django test app (behind Parapet or not): the client keeps cookies, logs
// in to the admin when a request asks, and fills in Django's CSRF token.
package corpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Request is one corpus entry.
type Request struct {
	// Name says what the request is (shown in test failures).
	Name string `yaml:"name"`
	// Class is the attack class (sqli, xss, ...) in attacks.yaml.
	Class string `yaml:"class"`
	// Login logs in to the Django admin as this staff user first.
	Login string `yaml:"login"`
	// Method defaults to GET, or POST when a body is given.
	Method string `yaml:"method"`
	// Path is the path with its query, sent as written.
	Path string `yaml:"path"`
	// Headers are sent as given (a browser's defaults are added first).
	Headers map[string]string `yaml:"headers"`
	// CSRF adds Django's token: csrfmiddlewaretoken in forms, X-CSRFToken
	// with other bodies.
	CSRF bool `yaml:"csrf"`
	// Form is an urlencoded body: ordered [name, value] pairs.
	Form [][2]string `yaml:"form"`
	// JSON is a raw JSON body.
	JSON string `yaml:"json"`
	// Multipart is a multipart/form-data body.
	Multipart *Multipart `yaml:"multipart"`
	// Body is a raw body sent with ContentType.
	Body        string `yaml:"body"`
	ContentType string `yaml:"content_type"`
	// Expect is the status Django must answer (0: any 2xx or 3xx).
	Expect int `yaml:"expect"`
	// Echo says the view answers with the sha256 of the body it received,
	// which must equal what was sent.
	Echo bool `yaml:"echo"`
}

// Multipart is a form with files, as a browser sends it.
type Multipart struct {
	Fields [][2]string `yaml:"fields"`
	Files  []File      `yaml:"files"`
}

// File is one uploaded file; Path is relative to the corpus file.
type File struct {
	Field string `yaml:"field"`
	Name  string `yaml:"name"`
	Type  string `yaml:"type"`
	Path  string `yaml:"path"`
	// Content is used instead of Path for small text files.
	Content string `yaml:"content"`
}

// Corpus is a loaded corpus file.
type Corpus struct {
	Dir      string
	Requests []Request
}

// Load reads a corpus file.
func Load(path string) (*Corpus, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading corpus: %w", err)
	}
	var reqs []Request
	if err := yaml.Unmarshal(data, &reqs); err != nil {
		return nil, fmt.Errorf("parsing corpus %s: %w", path, err)
	}
	for i, r := range reqs {
		if r.Name == "" || r.Path == "" {
			return nil, fmt.Errorf("corpus %s: entry %d needs a name and a path", path, i)
		}
	}
	return &Corpus{Dir: filepath.Dir(path), Requests: reqs}, nil
}

// Client replays corpus requests against one site.
type Client struct {
	// Base is the site's URL (http://127.0.0.1:8080).
	Base string
	// Host is sent as the Host header (a real site is reached by name).
	Host string
	// Passwords of the staff users corpus requests log in as.
	Passwords map[string]string
	// Dir resolves multipart file paths.
	Dir string

	http     *http.Client
	cookies  map[string]string // what a browser would hold for the site
	loggedIn string
}

// NewClient returns a client with its own cookies.
func NewClient(base, host, dir string, passwords map[string]string) *Client {
	return &Client{Base: base, Host: host, Dir: dir, Passwords: passwords, cookies: map[string]string{}, http: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Response is what the site answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// SentSHA256 is the digest of the body sent (empty without one).
	SentSHA256 string
}

// EchoedSHA256 is the digest the echo views report, or "".
func (r *Response) EchoedSHA256() string {
	var v struct {
		SHA256 string `json:"sha256"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.SHA256
}

var htmlReason = regexp.MustCompile(`<dt>Reason</dt><dd>([^<]*)</dd>`)

// BlockReason is the reason code of Parapet's block page (HTML or JSON),
// or "" when the response is not one.
func (r *Response) BlockReason() string {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var v struct {
			Error  string `json:"error"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(r.Body, &v) == nil && v.Error != "" {
			return v.Reason
		}
		return ""
	}
	if m := htmlReason.FindSubmatch(r.Body); m != nil && bytes.Contains(r.Body, []byte(`<div class="brand">`)) {
		return string(m[1])
	}
	return ""
}

const browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

func (c *Client) newRequest(method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequest(method, c.Base+path, body)
	if err != nil {
		return nil, err
	}
	if c.Host != "" {
		req.Host = c.Host
	}
	req.Header.Set("User-Agent", browserUA)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8")
	req.Header.Set("Accept-Language", "en-GB,en;q=0.9,fr;q=0.8")
	return req, nil
}

func (c *Client) do(req *http.Request) (*Response, error) {
	for name, value := range c.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Get fetches a path (to pick up cookies).
func (c *Client) Get(path string) (*Response, error) {
	req, err := c.newRequest("GET", path, nil)
	if err != nil {
		return nil, err
	}
	return c.do(req)
}

// csrfToken returns the csrftoken cookie, fetching a page that sets it
// when there is none yet.
func (c *Client) csrfToken() (string, error) {
	var last *Response
	for try := 0; try < 2; try++ {
		if v, ok := c.cookies["csrftoken"]; ok {
			return v, nil
		}
		var err error
		if last, err = c.Get("/admin/login/"); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("no csrftoken cookie from /admin/login/: %d %v %.300s", last.Status, last.Header, last.Body)
}

// Login logs in to the Django admin.
func (c *Client) Login(user string) error {
	if c.loggedIn == user {
		return nil
	}
	pass, ok := c.Passwords[user]
	if !ok {
		return fmt.Errorf("no password for %q", user)
	}
	token, err := c.csrfToken()
	if err != nil {
		return err
	}
	form := url.Values{"csrfmiddlewaretoken": {token}, "username": {user}, "password": {pass}, "next": {"/admin/"}}
	req, err := c.newRequest("POST", "/admin/login/?next=/admin/", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+req.Host)
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	if resp.Status != http.StatusFound {
		return fmt.Errorf("admin login as %s: %d %.300s", user, resp.Status, resp.Body)
	}
	c.loggedIn = user
	return nil
}

// Do sends one corpus request.
func (c *Client) Do(r Request) (*Response, error) {
	if r.Login != "" {
		if err := c.Login(r.Login); err != nil {
			return nil, err
		}
	}
	token := ""
	if r.CSRF {
		var err error
		if token, err = c.csrfToken(); err != nil {
			return nil, err
		}
	}
	var body []byte
	contentType := r.ContentType
	switch {
	case r.Form != nil:
		var b strings.Builder
		pairs := r.Form
		if token != "" {
			pairs = append([][2]string{{"csrfmiddlewaretoken", token}}, pairs...)
		}
		for i, p := range pairs {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(p[0]) + "=" + url.QueryEscape(p[1]))
		}
		body, contentType = []byte(b.String()), "application/x-www-form-urlencoded"
	case r.JSON != "":
		body, contentType = []byte(r.JSON), "application/json"
	case r.Multipart != nil:
		var err error
		if body, contentType, err = c.multipart(r.Multipart, token); err != nil {
			return nil, err
		}
	case r.Body != "":
		body = []byte(r.Body)
	}
	method := r.Method
	if method == "" {
		method = "GET"
		if body != nil {
			method = "POST"
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := c.newRequest(method, r.Path, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" && r.Form == nil && r.Multipart == nil {
		req.Header.Set("X-CSRFToken", token)
	}
	if method != "GET" && method != "HEAD" {
		req.Header.Set("Origin", "http://"+req.Host)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if k, ok := r.Headers["Host"]; ok {
		req.Host = k
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if body != nil {
		sum := sha256.Sum256(body)
		resp.SentSHA256 = hex.EncodeToString(sum[:])
	}
	return resp, nil
}

func (c *Client) multipart(m *Multipart, token string) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if token != "" {
		_ = mw.WriteField("csrfmiddlewaretoken", token)
	}
	for _, f := range m.Fields {
		_ = mw.WriteField(f[0], f[1])
	}
	for _, f := range m.Files {
		data := []byte(f.Content)
		if f.Path != "" {
			var err error
			if data, err = os.ReadFile(filepath.Join(c.Dir, f.Path)); err != nil {
				return nil, "", err
			}
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, f.Field, f.Name))
		typ := f.Type
		if typ == "" {
			typ = "application/octet-stream"
		}
		h.Set("Content-Type", typ)
		w, err := mw.CreatePart(h)
		if err != nil {
			return nil, "", err
		}
		_, _ = w.Write(data)
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}
