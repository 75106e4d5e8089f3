package fakeprovider

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// BoxToken is the route of Box's token endpoint.
const BoxToken = "POST /oauth2/token"

// maxAuthBody bounds the body of a token or login request.
const maxAuthBody = 64 << 10

// BoxApp is a Box application authorised for Client Credentials Grant.
type BoxApp struct {
	ClientID     string
	ClientSecret string
	// EnterpriseID is the enterprise whose service account the app's
	// tokens may act as. Tokens may also act as any user, named by id.
	EnterpriseID string
	// TokenLifetime is how long the tokens live; zero means Box's 60
	// minutes. The answer's expires_in, whole seconds on the wire, rounds
	// it up, so a lifetime under a second tests renewal on 401.
	TokenLifetime time.Duration
}

// boxAuth is the Box fake's Client Credentials Grant: the app, once one
// is set, and the tokens issued to it.
type boxAuth struct {
	mu     sync.Mutex
	app    *BoxApp
	issuer *tokenIssuer
}

// SetApp authorises app at the token endpoint. From then on the API takes
// the tokens issued to it while they live, beside the fixed tokens
// StartBox was given, and no longer any other token.
func (b *Box) SetApp(app BoxApp) {
	if app.TokenLifetime <= 0 {
		app.TokenLifetime = time.Hour
	}
	b.auth.mu.Lock()
	defer b.auth.mu.Unlock()
	b.auth.app = &app
	if b.auth.issuer == nil {
		b.auth.issuer = newTokenIssuer("box-access-", app.TokenLifetime)
	}
	b.auth.issuer.setLifetime(app.TokenLifetime)
}

// TokenURL is the value for an upstream's token_url, like
// https://api.box.com/oauth2/token.
func (b *Box) TokenURL() string { return b.URL() + "/oauth2/token" }

// RevokeTokens makes every token issued so far invalid before it expires,
// as revoking them at Box does.
func (b *Box) RevokeTokens() {
	if issuer := b.issuer(); issuer != nil {
		issuer.revokeAll()
	}
}

func (b *Box) issuer() *tokenIssuer {
	b.auth.mu.Lock()
	defer b.auth.mu.Unlock()
	return b.auth.issuer
}

// accepts reports whether the API takes token.
func (b *Box) accepts(token string) bool {
	switch issuer := b.issuer(); {
	case token == "":
		return false
	case slices.Contains(b.tokens, token):
		return true
	case issuer != nil:
		return issuer.valid(token)
	default:
		return len(b.tokens) == 0
	}
}

// token is Box's token endpoint for Client Credentials Grant: a form of
// grant_type, client_id, client_secret, box_subject_type and
// box_subject_id, answered with a bearer token and its expires_in, or with
// Box's OAuth error.
func (b *Box) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAuthBody)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_request", "Invalid request body"))
		return
	}
	b.auth.mu.Lock()
	app := b.auth.app
	b.auth.mu.Unlock()
	form := r.PostForm
	subject, subjectID := form.Get("box_subject_type"), form.Get("box_subject_id")
	switch {
	case form.Get("grant_type") != "client_credentials":
		writeJSON(w, http.StatusBadRequest, oauthError("unsupported_grant_type", "Grant type is not supported"))
	case app == nil || form.Get("client_id") != app.ClientID:
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_client", "The client credentials are invalid"))
	case subject != "enterprise" && subject != "user":
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_request", "Invalid box_subject_type"))
	case form.Get("client_secret") != app.ClientSecret || subjectID == "" ||
		(subject == "enterprise" && subjectID != app.EnterpriseID):
		// Box's answer to a secret of another app, or to an account the
		// app may not act as.
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_grant", "Grant credentials are invalid"))
	default:
		token, _, lifetime := b.issuer().issue()
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token":  token,
			"expires_in":    int64((lifetime + time.Second - 1) / time.Second),
			"restricted_to": []any{},
			"token_type":    "bearer",
		})
	}
}

// oauthError is an OAuth 2.0 token endpoint's error answer.
func oauthError(code, description string) map[string]string {
	return map[string]string{"error": code, "error_description": description}
}
