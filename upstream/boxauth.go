package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/avatarproxy/avatarproxy/config"
)

// DefaultBoxTokenURL is Box's token endpoint, where a Client Credentials
// Grant application exchanges its client id and secret for an access token.
const DefaultBoxTokenURL = "https://api.box.com/oauth2/token"

// withBoxCredentials adds Box's credentials to the kind's schema: a fixed
// token, or a Client Credentials Grant app's client_id and client_secret
// with the account its tokens act as, enterprise_id or user_id, and
// token_url.
func withBoxCredentials(rules config.KindRules) config.KindRules {
	for _, key := range []string{"token", "client_id", "client_secret", "enterprise_id", "user_id"} {
		rules.Keys[key] = config.KeyRule{}
	}
	rules.Keys["token_url"] = config.KeyRule{Check: config.CheckHTTPURL}
	rules.Check = checkBoxCredentials
	return rules
}

// checkBoxCredentials wants exactly one of Box's credentials, complete.
func checkBoxCredentials(u config.Upstream) []config.KeyProblem {
	grant := setKeys(map[string]string{
		"client_id": u.ClientID, "client_secret": u.ClientSecret,
		"enterprise_id": u.EnterpriseID, "user_id": u.UserID, "token_url": u.TokenURL,
	})
	switch {
	case u.Token != "" && grant != "":
		return []config.KeyProblem{{Key: "token", Problem: "excludes " + grant + ": a fixed token or Client Credentials Grant, not both"}}
	case u.Token != "":
		return nil
	case grant == "":
		return []config.KeyProblem{{Key: "token", Problem: "is required for kind box, or instead client_id, client_secret and enterprise_id or user_id"}}
	}
	var problems []config.KeyProblem
	if u.ClientID == "" {
		problems = append(problems, config.KeyProblem{Key: "client_id", Problem: "is required with " + grant})
	}
	if u.ClientSecret == "" {
		problems = append(problems, config.KeyProblem{Key: "client_secret", Problem: "is required with " + grant})
	}
	switch {
	case u.EnterpriseID != "" && u.UserID != "":
		problems = append(problems, config.KeyProblem{Key: "user_id", Problem: "excludes enterprise_id: the tokens act as the enterprise's service account or as one user"})
	case u.EnterpriseID == "" && u.UserID == "":
		problems = append(problems, config.KeyProblem{Key: "enterprise_id", Problem: "or user_id is required with " + grant + ": the account the tokens act as"})
	}
	return problems
}

// boxAuth gives the fetcher the upstream's Box credentials, which
// validation found complete: a fixed token, sent as it is, or a Client
// Credentials Grant app's, exchanged for access tokens that are renewed
// before they expire (Box's last an hour) and when the API refuses one.
func boxAuth(cfg config.Upstream, f *fetcher) {
	if cfg.Token != "" {
		f.header = http.Header{"Authorization": {"Bearer " + cfg.Token}}
		return
	}
	tokenURL := cfg.TokenURL
	if tokenURL == "" {
		tokenURL = DefaultBoxTokenURL
	}
	endpoint, err := url.Parse(tokenURL)
	if err != nil {
		endpoint = &url.URL{} // not validated: every exchange fails cleanly
	}
	subjectType, subjectID := "enterprise", cfg.EnterpriseID
	if cfg.UserID != "" {
		subjectType, subjectID = "user", cfg.UserID
	}
	grant := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     tokenURL,
		// Box reads the client's credentials from the form, not from Basic
		// authentication, and names the account to act as in its own fields.
		AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{
			"box_subject_type": {subjectType},
			"box_subject_id":   {subjectID},
		},
	}
	client := f.tokenClient()
	f.useToken("Bearer ", endpoint, cfg.ClientSecret, func(ctx context.Context) (issuedToken, error) {
		t, err := grant.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
		if err != nil {
			var refused *oauth2.RetrieveError
			if errors.As(err, &refused) {
				err = refusal(refused.Response.StatusCode, refused.ErrorCode, refused.ErrorDescription)
			} else if !errors.As(err, new(*url.Error)) {
				// An answer the library could not read; its words for
				// why quote no part of it.
				err = fmt.Errorf("%w: %v", errNoToken, err)
			}
			return issuedToken{}, err
		}
		if t.Type() != "Bearer" {
			return issuedToken{}, fmt.Errorf("%w: token type %q is not bearer", errNoToken, t.TokenType)
		}
		return issuedToken{value: t.AccessToken, expires: t.Expiry}, nil
	})
}
