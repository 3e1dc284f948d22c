package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
)

// EnvServer names the running Parapet the CLI's API commands talk to.
const EnvServer = config.EnvServer

// apiClient talks to a running Parapet's admin API.
type apiClient struct {
	base  string // http(s)://host:port, without /_parapet/api
	token string
	http  *http.Client
}

// serverOpts are the flags naming the running Parapet.
type serverOpts struct {
	URL string
	// Insecure allows http:// to another machine: the token then crosses
	// the network in the clear.
	Insecure bool
}

// serverFlag adds --server and --insecure to fs.
func serverFlag(fs *flag.FlagSet) *serverOpts {
	o := &serverOpts{}
	fs.StringVar(&o.URL, "server", os.Getenv(EnvServer), "`URL` of the running Parapet (env "+EnvServer+"); the token is PARAPET_ADMIN_TOKEN")
	fs.BoolVar(&o.Insecure, "insecure", false, "allow an http:// --server on another machine (the admin token is then sent in the clear)")
	return o
}

// newAPIClient checks the server URL and the token. The token is only
// sent over HTTPS, or plain HTTP to this machine, unless o.Insecure.
func newAPIClient(o serverOpts) (*apiClient, error) {
	server := o.URL
	if server == "" {
		return nil, errors.New("needs --server URL (or " + EnvServer + "), the address of the running Parapet")
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q must be an http:// or https:// URL", server)
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) && !o.Insecure {
		return nil, fmt.Errorf("--server %s: refusing to send the admin token over plain HTTP to another machine (anyone on the way could read it and take over the WAF); "+
			"use https://, or --insecure if the network is private", u.Redacted())
	}
	token := os.Getenv("PARAPET_ADMIN_TOKEN")
	if token == "" {
		return nil, errors.New("PARAPET_ADMIN_TOKEN must hold an admin token (admin.token or one of admin.tokens)")
	}
	client := &http.Client{Timeout: 30 * time.Second,
		// A redirect must not carry the token elsewhere (nor to plain HTTP).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &apiClient{base: strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), token: token, http: client}, nil
}

// apiError is an error answer of the API.
type apiError struct {
	Status int
	Body   struct {
		Error  string `json:"error"`
		Errors []struct {
			Field  string `json:"field"`
			Reason string `json:"reason"`
			File   string `json:"file"`
			Line   int    `json:"line"`
		} `json:"errors"`
	}
}

func (e *apiError) Error() string {
	var b strings.Builder
	if e.Body.Error != "" {
		b.WriteString(e.Body.Error)
	} else {
		fmt.Fprintf(&b, "the server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	for _, p := range e.Body.Errors {
		b.WriteString("\n  ")
		switch {
		case p.File != "" && p.Line > 0:
			fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
		case p.File != "":
			fmt.Fprintf(&b, "%s: ", p.File)
		}
		if p.Field != "" {
			b.WriteString(p.Field + ": ")
		}
		b.WriteString(p.Reason)
	}
	return b.String()
}

// do sends a request to /_parapet/api/<path> and decodes a JSON answer
// into out (when not nil). An answer of 400 or more is an *apiError.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/_parapet/api/"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return fmt.Errorf("%s redirected to %q (not followed: it would carry the admin token); give that address as --server", c.base, resp.Header.Get("Location"))
	}
	if resp.StatusCode >= 400 {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(raw, &e.Body) != nil || e.Body.Error == "" {
			e.Body.Error = ""
			if resp.StatusCode == http.StatusNotFound {
				e.Body.Error = "the server has no admin API here (404): is admin.token set on it, and is --server its address?"
			}
		}
		return e
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("the server's answer is not the JSON expected: %w", err)
		}
	}
	return nil
}

// fail prints err for the command and returns exit status 1.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "parapet %s: %v\n", cmd, err)
	return 1
}
