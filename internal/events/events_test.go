package events

import "testing"

func TestRedactorPath(t *testing.T) {
	r := NewRedactor([]string{"email"})
	cases := map[[2]string]string{
		{"/a", ""}:                               "/a",
		{"/a", "q=1"}:                            "/a?q=1",
		{"/s", "q=x&password=p&Email=e"}:         "/s?q=x&password=REDACTED&Email=REDACTED",
		{"/s", "access_token=t&next=/x"}:         "/s?access_token=REDACTED&next=/x",
		{"/s", "csrfmiddlewaretoken=abc&flag"}:   "/s?csrfmiddlewaretoken=REDACTED&flag",
		{"/s", "pass%77ord=x"}:                   "/s?pass%77ord=REDACTED",
		{"/s", "%zz=secret"}:                     "/s?%zz=REDACTED",
		{"/s", "API_KEY=1&sessionid=2&sig=3&a="}: "/s?API_KEY=REDACTED&sessionid=REDACTED&sig=REDACTED&a=",
	}
	for in, want := range cases {
		if got := r.Path(in[0], in[1]); got != want {
			t.Errorf("Path(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
