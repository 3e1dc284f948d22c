package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	_ "unsafe" // go:linkname: the CAPTCHA library's digit recordings

	_ "github.com/mojocn/base64Captcha"

	"github.com/parapet-waf/parapet/internal/challenge"
)

// The spoken digits the audio CAPTCHA is made of (8 kHz, unsigned 8-bit
// PCM): public, in the library's source (sounds.go). An attacker copies
// them; the test reads them where they are.
//
//go:linkname captchaDigitSounds github.com/mojocn/base64Captcha.digitSounds
var captchaDigitSounds map[string][][]byte

// A proof of work of 20 bits (what under-attack mode asks, 16 + 4; here
// set as the base difficulty), more for a client that keeps answering:
// the README's "What one solve buys" relies on that price. But every kind falls back to the image CAPTCHA
// and its audio version (fallback_captcha: true by default), and a PoW
// token may be answered with the CAPTCHA's digits instead. The audio is
// six recordings of spoken digits, each slowed or sped by 0.95-1.1 and
// scaled, one or two seconds apart over a background 30 dB quieter: a
// matched filter against the ten public recordings (about 40 lines, 0.3 s
// of CPU) reads about five in six correctly. So a script gets a
// clearance, and reaches Django, without doing any proof of work, at the
// same price under attack as at rest.
func TestReview2AudioCaptchaSolvedByMachineSkipsProofOfWork(t *testing.T) {
	yaml := fmt.Sprintf(`
trusted_proxies: [loopback]
challenge:
  secret: %s
  difficulty: 20
rules:
  - id: humans-only
    action: challenge
    paths: [/whoami/]
`, challengeSecret)
	d := startDjangoWithConfig(t, yaml)
	bot := &visitor{ip: "203.0.113.66", ua: browser}
	tmpls := captchaTemplates()
	for try := 0; try < 3; try++ { // each puzzle takes one guess
		p := challengePage(t, bot.do(t, d, "GET", "/whoami/", nil, nil))
		if p.difficulty < 20 {
			t.Fatalf("premise: the proof of work is %d bits, want 20 or more", p.difficulty)
		}
		wav := bot.do(t, d, "GET", challenge.PathPrefix+"captcha.wav?t="+p.token, nil, nil)
		if wav.status != 200 {
			t.Fatalf("audio: %d", wav.status)
		}
		digits := solveAudioCaptcha(tmpls, []byte(wav.body))
		r := bot.do(t, d, "POST", challenge.PathPrefix+"verify", url.Values{"token": {p.token}, "captcha": {digits}}, nil)
		if r.status != 303 {
			t.Logf("try %d: read %q, not right (%d)", try, digits, r.status)
			continue
		}
		bot.cookie = clearanceFrom(t, r)
		if r := bot.do(t, d, "GET", "/whoami/", nil, nil); r.status == 200 && strings.Contains(r.body, "x_forwarded_for") {
			t.Fatalf("a script read the audio CAPTCHA (%q, try %d) and reached Django without any proof of work (%d bits asked)", digits, try, p.difficulty)
		}
	}
}

// captchaTemplate is one digit's recording at one speed, centred on 0.
type captchaTemplate struct {
	digit int
	wave  []float64
}

// captchaTemplates stretches each recording as the library does
// (nearest sample) at speeds 0.95 to 1.1.
func captchaTemplates() []captchaTemplate {
	var out []captchaTemplate
	for d, snd := range captchaDigitSounds["en"] {
		for sp := 0.95; sp <= 1.1001; sp += 0.025 {
			w := make([]float64, int(math.Floor(float64(len(snd))*sp)))
			var p float64
			for _, v := range snd {
				for i := int(p); i < int(p+sp) && i < len(w); i++ {
					w[i] = float64(v) - 128
				}
				p += sp
			}
			out = append(out, captchaTemplate{d, w})
		}
	}
	return out
}

// solveAudioCaptcha reads the digits of a CAPTCHA WAV: the loud stretches
// (10 ms windows over a mean amplitude of 6, gaps under 0.35 s merged)
// between the opening beeps and the closing one are the digits; each is
// the template that correlates best with it near its start.
func solveAudioCaptcha(tmpls []captchaTemplate, wav []byte) string {
	i := bytes.Index(wav, []byte("data"))
	if i < 0 || i+8 > len(wav) {
		return ""
	}
	s := wav[i+8:]
	if n := int(binary.LittleEndian.Uint32(wav[i+4:])); n < len(s) {
		s = s[:n]
	}
	const win = 80
	var segs [][2]int // [start, end) of each loud stretch
	in := false
	for i := 0; i+win <= len(s); i += win {
		e := 0
		for _, v := range s[i : i+win] {
			e += int(math.Abs(float64(v) - 128))
		}
		switch loud := e/win > 6; {
		case loud && in:
			segs[len(segs)-1][1] = i + win
		case loud && len(segs) > 0 && i-segs[len(segs)-1][1] < 2800:
			segs[len(segs)-1][1], in = i+win, true // the same sound goes on
		case loud:
			segs, in = append(segs, [2]int{i, i + win}), true
		default:
			in = false
		}
	}
	if len(segs) < 3 {
		return ""
	}
	var out strings.Builder
	for _, g := range segs[1 : len(segs)-1] {
		best, digit := -2.0, 0
		for _, tm := range tmpls {
			if c := correlate(s, g[0], tm.wave); c > best {
				best, digit = c, tm.digit
			}
		}
		fmt.Fprint(&out, digit)
	}
	return out.String()
}

// correlate is the best normalised correlation of w placed near start.
func correlate(s []byte, start int, w []float64) float64 {
	var ww float64
	for _, y := range w {
		ww += y * y
	}
	best := -2.0
	for lag := -800; lag <= 400; lag += 4 {
		off := start + lag
		if off < 0 || off+len(w) > len(s) {
			continue
		}
		var xy, xx float64
		for i, y := range w {
			x := float64(s[off+i]) - 128
			xy += x * y
			xx += x * x
		}
		if c := xy / math.Sqrt(xx*ww+1e-9); c > best {
			best = c
		}
	}
	return best
}
