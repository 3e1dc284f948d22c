package challenge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// siteVerifyResponse is the answer of Turnstile's and hCaptcha's siteverify
// endpoints (they share the shape).
type siteVerifyResponse struct {
	Success    bool     `json:"success"`
	ErrorCodes []string `json:"error-codes"`
}

// siteVerify asks the provider's verify endpoint whether the widget's
// response token is good. An unreachable or confused endpoint is an error
// (the client is not cleared).
func (c *Challenger) siteVerify(ctx context.Context, w config.Widget, response string, info *decision.Info) (bool, error) {
	if response == "" || len(response) > 4096 {
		return false, nil
	}
	form := url.Values{"secret": {w.Secret}, "response": {response}}
	if info.ClientIP.IsValid() {
		form.Set("remoteip", info.ClientIP.String())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.VerifyURL, strings.NewReader(form.Encode()))
	if err != nil {
		return false, fmt.Errorf("verify request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("verify endpoint: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("verify endpoint answered %s", resp.Status)
	}
	var out siteVerifyResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return false, fmt.Errorf("verify endpoint: unreadable answer: %w", err)
	}
	return out.Success, nil
}
