package e2e

import (
	"net/url"
	"testing"

	"github.com/parapet-waf/parapet/internal/challenge"
	"github.com/parapet-waf/parapet/internal/testenv"
)

// Under-attack mode on two instances sharing Redis: a visitor challenged by
// one instance solves it there; the clearance lets it through the other,
// and the same solved challenge replayed on the other instance is refused
// (the nonce is claimed in the shared store). Django sees only the cleared
// requests.
func TestUnderAttackChallengeClearsAcrossInstancesAndNeverReplays(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	redis := testenv.StartRedis(t)
	env := []string{"PARAPET_LISTEN=", "PARAPET_UPSTREAM=unix:" + sock, "PARAPET_TRUSTED_PROXIES=loopback",
		"PARAPET_STORE_TYPE=redis", "REDIS_URL=" + redis.URL(), "PARAPET_UNDER_ATTACK_ENABLED=true",
		"PARAPET_CHALLENGE_SECRET=" + challengeSecret, "PARAPET_CHALLENGE_DIFFICULTY=8"}
	start := func() *django {
		addr := testenv.FreeAddr(t)
		p := startParapet(t, addr, append(env, "PARAPET_LISTEN="+addr), "run")
		waitStatus(t, p, "/", 403)
		return &django{process: p, base: "http://" + addr}
	}
	a, b := start(), start()
	djangoClient := testenv.UnixClient(sock)
	before, _ := testenv.DjangoRequests(t, djangoClient, "http://django")

	alice := &visitor{ip: "198.51.100.20", ua: browser}
	p := challengePage(t, alice.do(t, a, "GET", "/whoami/?under=attack", nil, nil))
	if other := alice.do(t, b, "GET", "/whoami/", nil, nil); !isChallenge(other) {
		t.Fatalf("instance b does not challenge under attack: %d", other.status)
	}
	ans := challenge.SolvePoW(p.nonce, p.difficulty)
	form := url.Values{"token": {p.token}, "answer": {ans}}
	passed := alice.do(t, a, "POST", challenge.PathPrefix+"verify", form, nil)
	if passed.status != 303 || passed.header.Get("Location") != "/whoami/?under=attack" {
		t.Fatalf("verify on a: %d to %q", passed.status, passed.header.Get("Location"))
	}
	cookie := clearanceFrom(t, passed)

	// The same client posting the same answer again, on the other instance.
	replay := alice.do(t, b, "POST", challenge.PathPrefix+"verify", form, nil)
	if replay.status != 403 || replay.header.Get("Set-Cookie") != "" {
		t.Fatalf("the solved challenge replayed on instance b was accepted: %d %v", replay.status, replay.header)
	}
	b.waitLog(t, "already used (replay)")

	alice.cookie = cookie
	for _, d := range []*django{a, b} {
		if r := alice.do(t, d, "GET", "/whoami/", nil, nil); r.status != 200 {
			t.Fatalf("cleared visitor through %s: %d", d.base, r.status)
		}
	}
	if after, paths := testenv.DjangoRequests(t, djangoClient, "http://django"); after-before != 2 {
		t.Fatalf("Django saw %d requests, want the 2 cleared ones: %v", after-before, paths)
	}
}
