package challenge

import (
	"bytes"
	"net/http"
	_ "unsafe" // go:linkname, below

	"github.com/golang/freetype/truetype"
	"github.com/mojocn/base64Captcha"

	"github.com/parapet-waf/parapet/internal/decision"
)

// The CAPTCHA drivers: six distorted digits in a 240x80 PNG, and the same
// digits spoken (English) in a WAV with background noise.
var (
	imageDriver = base64Captcha.NewDriverDigit(80, 240, 6, 0.7, 80)
	audioDriver = base64Captcha.NewDriverAudio(6, "en")
)

// base64Captcha parses all its embedded TrueType fonts when it is
// imported, a CJK one among them: some 8 MB of live heap (and, at
// gc_percent 400, up to four times that more before a collection) that
// Parapet never uses: the digit driver draws its own bitmaps and the audio
// driver plays recorded digits; only the string, math, Chinese and
// language drivers read the fonts. The package keeps them in unexported
// variables, filled before this package's init runs, which drops them.
// (A link error names the variable if a new release renames it.)
var (
	//go:linkname captchaFontsSimple github.com/mojocn/base64Captcha.fontsSimple
	captchaFontsSimple []*truetype.Font
	//go:linkname captchaFontsAll github.com/mojocn/base64Captcha.fontsAll
	captchaFontsAll []*truetype.Font
	//go:linkname captchaFontChinese github.com/mojocn/base64Captcha.fontChinese
	captchaFontChinese *truetype.Font
)

func init() {
	captchaFontsSimple, captchaFontsAll, captchaFontChinese = nil, nil, nil
}

// serveCaptcha draws the CAPTCHA of the token in ?t= as "png" or "wav".
// The token must be valid for this client, so media is only drawn for
// challenges Parapet served to it.
func (c *Challenger) serveCaptcha(w http.ResponseWriter, r *http.Request, info *decision.Info, format string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		c.refuse(w, r, info, http.StatusMethodNotAllowed, RuleMethod, r.Method+" for CAPTCHA media")
		return
	}
	tok, err := c.signer.Open(r.URL.Query().Get("t"), clientOf(r, info), c.now())
	if err != nil {
		c.refuse(w, r, info, http.StatusForbidden, RuleFailed, "CAPTCHA media: token "+err.Error())
		return
	}
	if tok.Kind != KindCaptcha && !c.cfg.FallbackCaptcha {
		c.refuse(w, r, info, http.StatusNotFound, RuleNotFound, "CAPTCHA media for a proof-of-work token")
		return
	}
	answer := c.CaptchaAnswer(tok.Nonce)
	var buf bytes.Buffer
	contentType := "image/png"
	if format == "wav" {
		contentType = "audio/wav"
		item, _ := audioDriver.DrawCaptcha(answer)
		_, err = item.WriteTo(&buf)
	} else {
		item, _ := imageDriver.DrawCaptcha(answer)
		_, err = item.WriteTo(&buf)
	}
	if err != nil {
		c.refuse(w, r, info, http.StatusInternalServerError, RuleError, "drawing the CAPTCHA: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(buf.Bytes())
}
