package redact

import "testing"

func TestURLHidesPasswordsAndQueryValues(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"redis://default:hunter2@redis.example:6379", "redis://default:xxxxx@redis.example:6379"},
		// Does not parse ("%zz"): redacted all the same.
		{"redis://default:hunter2%zz@redis.example:6379/0", "redis://default:xxxxx@redis.example:6379/0"},
		// '@' and '/' and '?' in a password not escaped: up to the last '@' before the path.
		{"rediss://u:p@ss:w@host:6380", "rediss://u:xxxxx@host:6380"},
		{"redis://:only-password@host", "redis://:xxxxx@host"},
		{"redis://user@host", "redis://user@host"},
		{"https://lists.example/ips.txt", "https://lists.example/ips.txt"},
		{"http://127.0.0.1:1/list.txt?api_key=SUPERSECRETKEY123&fmt=csv", "http://127.0.0.1:1/list.txt?api_key=xxxxx&fmt=xxxxx"},
		{"https://h/p?SECRET&&k=#frag", "https://h/p?xxxxx&&k=xxxxx#xxxxx"},
		{"https://h/p/a@b?k=v", "https://h/p/a@b?k=xxxxx"},
		{"not a url", "not a url"},
		{"", ""},
	} {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
