package detect

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"testing"

	crstests "github.com/corazawaf/coraza-coreruleset/v4/tests"
	"github.com/corazawaf/coraza/v3/types"
	"gopkg.in/yaml.v3"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// crsTestFile is the go-ftw format of the CRS regression tests.
type crsTestFile struct {
	RuleID int `yaml:"rule_id"`
	Tests  []struct {
		TestID int `yaml:"test_id"`
		Stages []struct {
			Input struct {
				Method              *string           `yaml:"method"`
				URI                 *string           `yaml:"uri"`
				Version             *string           `yaml:"version"`
				Headers             map[string]string `yaml:"headers"`
				Data                *string           `yaml:"data"`
				EncodedRequest      string            `yaml:"encoded_request"`
				AutocompleteHeaders *bool             `yaml:"autocomplete_headers"`
			} `yaml:"input"`
			Output struct {
				Log struct {
					ExpectIDs   []int `yaml:"expect_ids"`
					NoExpectIDs []int `yaml:"no_expect_ids"`
				} `yaml:"log"`
			} `yaml:"output"`
		} `yaml:"stages"`
	} `yaml:"tests"`
}

// eachCRSTestFile calls fn with each request-side CRS regression test
// file (shipped in the coraza-coreruleset module) and its path.
func eachCRSTestFile(t *testing.T, fn func(path string, f *crsTestFile)) {
	t.Helper()
	err := fs.WalkDir(crstests.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(p, "REQUEST-") || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := fs.ReadFile(crstests.FS, p)
		if err != nil {
			return err
		}
		var f crsTestFile
		if err := yaml.Unmarshal(data, &f); err != nil {
			t.Logf("%s: %v", p, err)
			return nil
		}
		fn(p, &f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCRSRegressionSample replays a sample of the CRS's own regression
// tests (shipped in the coraza-coreruleset module) through the detection
// stage as Parapet configures it (paranoia level 4, nothing blocking so
// every phase runs: the CRS threshold out of reach and monitor mode, in
// which the analyzer's verdict does not stop the request either; no
// Django profile) and reports the pass rate: a rule
// is expected to match (expect_ids) or not (no_expect_ids).
func TestCRSRegressionSample(t *testing.T) {
	every := 3 // one test in three
	if testing.Short() || raceEnabled {
		every = 15 // the race detector makes the rule engine ~30 times slower
	}
	cfg := config.Default()
	cfg.Detection.ParanoiaLevel = 4
	cfg.Detection.InboundThreshold = 1 << 20
	cfg.Detection.Mode = "monitor"
	cfg.Detection.DjangoProfile = false
	cfg.Detection.WindowsHost = true
	cfg.Detection.BodyLimit = 8 << 20
	cfg.Edge.AllowedMethods = []string{"GET", "HEAD", "POST", "OPTIONS"} // CRS's default
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var matched map[int]bool
	s.observe = func(tx types.Transaction) {
		for _, m := range tx.MatchedRules() {
			matched[m.Rule().ID()] = true
		}
	}

	var passed, failed, skipped, n int
	failures := map[string]int{}
	eachCRSTestFile(t, func(p string, f *crsTestFile) {
		for _, tc := range f.Tests {
			n++
			if n%every != 0 {
				continue
			}
			if len(tc.Stages) != 1 {
				skipped++
				continue
			}
			in, out := tc.Stages[0].Input, tc.Stages[0].Output.Log
			if in.EncodedRequest != "" || len(out.ExpectIDs)+len(out.NoExpectIDs) == 0 {
				skipped++ // raw wire bytes, or an expectation on the status only
				continue
			}
			r := crsRequest(in.Method, in.URI, in.Version, in.Headers, in.Data, in.AutocompleteHeaders)
			matched = map[int]bool{}
			s.Check(r.Context(), r, &decision.Info{ID: "crs"})
			ok := true
			for _, id := range out.ExpectIDs {
				ok = ok && matched[id]
			}
			for _, id := range out.NoExpectIDs {
				ok = ok && !matched[id]
			}
			if ok {
				passed++
			} else {
				failed++
				failures[path.Dir(p)]++
			}
		}
	})
	total := passed + failed
	rate := float64(passed) / float64(total)
	var byFile []string
	for k, v := range failures {
		byFile = append(byFile, k+": "+strconv.Itoa(v))
	}
	sort.Strings(byFile)
	t.Logf("CRS regression sample: %d of %d passed (%.1f%%), %d skipped (raw requests, status-only)", passed, total, 100*rate, skipped)
	t.Logf("failures by file: %s", strings.Join(byFile, ", "))
	if total < 100 || rate < 0.95 {
		t.Fatalf("pass rate %.1f%% over %d tests, want at least 95%%", 100*rate, total)
	}
}

// crsRequest builds the request a go-ftw stage describes, with its
// defaults (GET / HTTP/1.1, Host localhost) and, unless switched off, a
// Content-Length for the data.
func crsRequest(method, uri, version *string, headers map[string]string, data *string, autocomplete *bool) *http.Request {
	r := &http.Request{Method: "GET", RequestURI: "/", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Host: "localhost"}
	if method != nil {
		r.Method = *method
	}
	if uri != nil {
		r.RequestURI = *uri
	}
	if version != nil {
		r.Proto = *version
	}
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		r.URL = u
	} else {
		r.URL = &url.URL{Path: "/"}
	}
	for k, v := range headers {
		if strings.EqualFold(k, "Host") {
			r.Host = v
			continue
		}
		r.Header[k] = []string{v}
	}
	body := ""
	if data != nil {
		body = *data
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "multipart/") && !strings.Contains(body, "\r") {
		// The samples write multipart bodies with bare LF line ends, which
		// ModSecurity reads as parts and Django does not (it skips every
		// part, and Parapet refuses the body as strict multipart policy):
		// they are sent as browsers send them.
		body = strings.ReplaceAll(body, "\n", "\r\n")
	}
	r.Body = http.NoBody
	if body != "" {
		r.ContentLength = int64(len(body))
		r.Body = io.NopCloser(strings.NewReader(body))
		if autocomplete == nil || *autocomplete {
			if r.Header.Get("Content-Length") == "" {
				r.Header.Set("Content-Length", strconv.Itoa(len(body)))
			}
		}
	}
	return r.WithContext(context.Background())
}

// TestCRSRegressionAttacksBlocked replays the CRS regression tests that
// expect an attack rule (930-944) through Parapet's defaults, minus the
// Django profile, with the second stage and without it, and compares
// what each blocks: confirmation must not cost the CRS's own attack
// payloads more than the analyzer's parsers add. (Many of these tests
// exercise paranoia levels 2-4, which neither configuration runs.)
func TestCRSRegressionAttacksBlocked(t *testing.T) {
	every := 1
	if testing.Short() || raceEnabled {
		every = 10
	}
	stage := func(analyzer bool) *Stage {
		cfg := config.Default()
		cfg.Detection.DjangoProfile = false
		cfg.Detection.Analyzer = analyzer
		cfg.Detection.BodyLimit = 8 << 20
		cfg.Edge.AllowedMethods = []string{"GET", "HEAD", "POST", "OPTIONS"}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	on, off := stage(true), stage(false)
	var n, blockedOn, blockedOff, lost int
	eachCRSTestFile(t, func(p string, f *crsTestFile) {
		if f.RuleID < 930000 || f.RuleID >= 945000 {
			return
		}
		for _, tc := range f.Tests {
			if len(tc.Stages) != 1 {
				continue
			}
			in, out := tc.Stages[0].Input, tc.Stages[0].Output.Log
			if in.EncodedRequest != "" || len(out.ExpectIDs) == 0 {
				continue
			}
			if n++; n%every != 0 {
				continue
			}
			var d [2]bool
			for i, s := range []*Stage{on, off} {
				r := crsRequest(in.Method, in.URI, in.Version, in.Headers, in.Data, in.AutocompleteHeaders)
				d[i] = s.Check(r.Context(), r, &decision.Info{ID: "crs-" + strconv.Itoa(i)}).Decided()
			}
			if d[0] {
				blockedOn++
			}
			if d[1] {
				blockedOff++
				if !d[0] {
					lost++
				}
			}
		}
	})
	t.Logf("CRS attack tests: %d replayed; blocked with the analyzer %d, by the CRS alone %d; %d blocked by the CRS alone pass with the analyzer",
		(n+every-1)/every, blockedOn, blockedOff, lost)
	if blockedOn < blockedOff {
		t.Errorf("the second stage blocks fewer of the CRS's attack tests (%d) than the CRS alone (%d)", blockedOn, blockedOff)
	}
}
