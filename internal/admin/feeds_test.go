package admin_test

import (
	"os"
	"path/filepath"
	"testing"
)

// Status reports every running feed's health, for the dashboard: a file
// feed a rule uses with its entries, a URL feed whose fetch fails with
// the reason (and not ok), and the crawler ranges started with the config.
func TestVisStatusReportsFeedHealth(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "office.txt")
	if err := os.WriteFile(list, []byte("198.51.100.0/24\n192.0.2.7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, writeConfig(t, dir, app(t), "  - id: office-list\n    feeds: [office, vendor]\n"+tokens+`feeds:
  - {name: office, file: `+list+`}
  - {name: vendor, url: "http://127.0.0.1:1/list.txt"}
`))
	type feed struct {
		Name    string
		OK      bool
		Entries int
		Source  string
		Updated string
		Error   string
	}
	byName := map[string]feed{}
	waitFor(t, "the vendor feed's failure in status", func() bool {
		code, st, _ := s.call(t, "GET", "/_parapet/api/status", rootToken, "")
		if code != 200 {
			t.Fatalf("status: %d %v", code, st)
		}
		list, _ := st["feeds"].([]any)
		for _, f := range list {
			m := f.(map[string]any)
			v := feed{Name: m["name"].(string), OK: m["ok"] == true, Source: m["source"].(string)}
			v.Entries = int(m["entries"].(float64))
			v.Updated, _ = m["updated"].(string)
			v.Error, _ = m["error"].(string)
			byName[v.Name] = v
		}
		return byName["vendor"].Error != ""
	})
	if f := byName["office"]; !f.OK || f.Entries != 2 || f.Source != "file" || f.Updated == "" || f.Error != "" {
		t.Errorf("office feed: %+v", f)
	}
	if f := byName["vendor"]; f.OK || f.Entries != 0 {
		t.Errorf("vendor feed: %+v", f)
	}
	if _, ok := byName["crawler-google"]; !ok {
		t.Errorf("the crawler ranges are not among the feeds: %+v", byName)
	}
}
