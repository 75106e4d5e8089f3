package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
)

// maxAuthResponse bounds the answer of DocSpace's authentication endpoint,
// a token and a date in an envelope.
const maxAuthResponse = 64 << 10

// withDocSpaceCredentials adds DocSpace's credentials to the kind's
// schema: an api_key, or a user_name and password.
func withDocSpaceCredentials(rules config.KindRules) config.KindRules {
	for _, key := range []string{"api_key", "user_name", "password"} {
		rules.Keys[key] = config.KeyRule{}
	}
	rules.Check = checkDocSpaceCredentials
	return rules
}

// checkDocSpaceCredentials wants exactly one of DocSpace's credentials,
// complete.
func checkDocSpaceCredentials(u config.Upstream) []config.KeyProblem {
	login := setKeys(map[string]string{"user_name": u.UserName, "password": u.Password})
	switch {
	case u.APIKey != "" && login != "":
		return []config.KeyProblem{{Key: "api_key", Problem: "excludes " + login + ": an API key or a login, not both"}}
	case u.APIKey != "":
		return nil
	case login == "":
		return []config.KeyProblem{{Key: "api_key", Problem: "is required for kind docspace, or instead user_name and password"}}
	case u.UserName == "":
		return []config.KeyProblem{{Key: "user_name", Problem: "is required with password"}}
	case u.Password == "":
		return []config.KeyProblem{{Key: "password", Problem: "is required with user_name"}}
	}
	return nil
}

// docSpaceAuth gives the fetcher the upstream's DocSpace credentials,
// which validation found complete. An api_key (a DocSpace API key, or an
// OAuth access token) is sent as "Authorization: Bearer {key}", the form
// DocSpace's API key documentation gives; a pasted "Bearer " is not
// doubled. A user_name and password are exchanged at
// /api/2.0/authentication for a session token, sent bare as
// "Authorization: {token}" as DocSpace's documentation of those tokens
// shows, and renewed before the expiry DocSpace gives and when the API
// refuses it.
func docSpaceAuth(cfg config.Upstream, f *fetcher, base string) {
	if cfg.APIKey != "" {
		f.header.Set("Authorization", "Bearer "+docSpaceKey(cfg.APIKey))
		return
	}
	endpoint, err := url.Parse(base + "/api/2.0/authentication")
	if err != nil {
		endpoint = &url.URL{} // not validated: every exchange fails cleanly
	}
	// Marshalling strings cannot fail.
	body, _ := json.Marshal(map[string]string{"userName": cfg.UserName, "password": cfg.Password})
	client := f.tokenClient()
	f.useToken("", endpoint, cfg.Password, func(ctx context.Context) (issuedToken, error) {
		return docSpaceLogin(ctx, client, endpoint, body)
	})
}

// docSpaceKey is an api_key as pasted, without the scheme a user may have
// copied along with it.
func docSpaceKey(key string) string {
	key = strings.TrimSpace(key)
	if rest, ok := CutPrefixFold(key, "Bearer "); ok {
		return strings.TrimSpace(rest)
	}
	return key
}

// docSpaceLogin posts the login to DocSpace's authentication endpoint and
// reads response.token and response.expires from its answer.
func docSpaceLogin(ctx context.Context, client *http.Client, endpoint *url.URL, login []byte) (issuedToken, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), bytes.NewReader(login))
	if err != nil {
		return issuedToken{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return issuedToken{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAuthResponse+1))
	if err != nil {
		return issuedToken{}, err
	}
	var answer struct {
		Response struct {
			Token   string `json:"token"`
			Expires string `json:"expires"`
			TFA     bool   `json:"tfa"`
		} `json:"response"`
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	decodeErr := json.Unmarshal(raw, &answer)
	switch {
	case len(raw) > maxAuthResponse:
		return issuedToken{}, fmt.Errorf("%w: answer exceeds %d bytes", errNoToken, maxAuthResponse)
	case resp.StatusCode/100 != 2:
		return issuedToken{}, refusal(resp.StatusCode, "", answer.Error.Message)
	case decodeErr != nil:
		return issuedToken{}, fmt.Errorf("%w: decoding the answer: %v", errNoToken, decodeErr)
	case answer.Response.TFA:
		return issuedToken{}, fmt.Errorf("%w: the account signs in with two-factor authentication; use an api_key", errNoToken)
	case answer.Response.Token == "":
		return issuedToken{}, fmt.Errorf("%w: the answer carries no response.token", errNoToken)
	}
	// An expiry that does not parse leaves the token to be renewed when
	// the API refuses it.
	expires, _ := time.Parse(time.RFC3339Nano, answer.Response.Expires)
	return issuedToken{value: answer.Response.Token, expires: expires}, nil
}
