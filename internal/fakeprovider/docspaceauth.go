package fakeprovider

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// DocSpaceAuthenticate is the route of DocSpace's login, which issues
// session tokens.
const DocSpaceAuthenticate = "POST /api/2.0/authentication"

// defaultSessionLifetime is how long the DocSpace fake's session tokens
// live unless SetTokenLifetime says otherwise.
const defaultSessionLifetime = 24 * time.Hour

// docSpaceAuth is the DocSpace fake's login: the accounts that may sign
// in and the session tokens issued to them.
type docSpaceAuth struct {
	mu       sync.Mutex
	accounts map[string]string // user name -> password
	issuer   *tokenIssuer
}

func newDocSpaceAuth() docSpaceAuth {
	return docSpaceAuth{accounts: make(map[string]string), issuer: newTokenIssuer("ds-session-", defaultSessionLifetime)}
}

// AddAccount lets userName sign in with password at the authentication
// endpoint.
func (d *DocSpace) AddAccount(userName, password string) {
	d.auth.mu.Lock()
	defer d.auth.mu.Unlock()
	d.auth.accounts[userName] = password
}

// SetTokenLifetime sets how long the session tokens issued from now on
// live; the answer's expires says when each one ends.
func (d *DocSpace) SetTokenLifetime(lifetime time.Duration) { d.auth.issuer.setLifetime(lifetime) }

// RevokeTokens ends every session token issued so far before it expires,
// as signing the sessions out does.
func (d *DocSpace) RevokeTokens() { d.auth.issuer.revokeAll() }

// accepts reports whether an Authorization value opens the API: the API
// key, bare or as a Bearer token, or a live session token, bare.
func (d *DocSpace) accepts(authorization string) bool {
	switch {
	case authorization == "":
		return false
	case d.apiKey != "" && (authorization == d.apiKey || authorization == "Bearer "+d.apiKey):
		return true
	default:
		return d.auth.issuer.valid(authorization)
	}
}

// authenticate signs a user in from {"userName", "password"} and answers
// the session token and when it expires, or 401 for a wrong login.
func (d *DocSpace) authenticate(w http.ResponseWriter, r *http.Request) {
	var login struct {
		UserName string `json:"userName"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAuthBody)).Decode(&login); err != nil {
		status, body := docSpaceError(http.StatusBadRequest, "invalid JSON body")
		writeJSON(w, status, body)
		return
	}
	d.auth.mu.Lock()
	password, known := d.auth.accounts[login.UserName]
	d.auth.mu.Unlock()
	if !known || login.Password != password || login.UserName == "" {
		status, body := docSpaceError(http.StatusUnauthorized, "User authentication failed")
		writeJSON(w, status, body)
		return
	}
	token, expires, _ := d.auth.issuer.issue()
	status, body := docSpaceOK(r, map[string]any{
		"token":      token,
		"expires":    expires.Format(time.RFC3339Nano),
		"sms":        false,
		"phoneNoise": nil,
		"tfa":        false,
		"tfaKey":     nil,
		"confirmUrl": nil,
	})
	writeJSON(w, status, body)
}
