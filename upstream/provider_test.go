package upstream_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// kindSpecificKeys are the upstream keys whose use depends on the kind.
var kindSpecificKeys = []string{
	"root", "url_template", "base_url", "token", "api_key",
	"client_id", "client_secret", "enterprise_id", "user_id", "token_url", "user_name", "password",
	"passthrough_prefix", "webhook_secret", "connect_timeout", "header_timeout", "timeout",
}

// credentials are, for the kinds that take one of several credentials
// (weighed by their schema's Check, and tested beside the provider), the
// keys of the one a minimal upstream gives, and those of the others, which
// the upstream with every key leaves out.
var credentials = map[string]struct{ given, others []string }{
	"box":      {[]string{"token"}, []string{"client_id", "client_secret", "enterprise_id", "user_id", "token_url"}},
	"docspace": {[]string{"api_key"}, []string{"user_name", "password"}},
}

// withKey returns u with key set to a value that passes the key's checks.
func withKey(t *testing.T, u config.Upstream, key string) config.Upstream {
	switch key {
	case "root":
		u.Root = t.TempDir()
	case "url_template":
		u.URLTemplate = "http://127.0.0.1:1/a/{user_id}.png"
	case "base_url":
		u.BaseURL = "http://127.0.0.1:1/api"
	case "token":
		u.Token = "token"
	case "api_key":
		u.APIKey = "key"
	case "client_id":
		u.ClientID = "client"
	case "client_secret":
		u.ClientSecret = "secret"
	case "enterprise_id":
		u.EnterpriseID = "123"
	case "user_id":
		u.UserID = "456"
	case "token_url":
		u.TokenURL = "http://127.0.0.1:1/oauth2/token"
	case "user_name":
		u.UserName = "user"
	case "password":
		u.Password = "password"
	case "passthrough_prefix":
		u.PassthroughPrefix = "/" + u.Name
	case "webhook_secret":
		u.WebhookSecret = "secret"
	case "connect_timeout":
		u.ConnectTimeout = config.Duration(1)
	case "header_timeout":
		u.HeaderTimeout = config.Duration(1)
	case "timeout":
		u.Timeout = config.Duration(1)
	default:
		t.Fatalf("no test value for key %s", key)
	}
	return u
}

func validate(u config.Upstream) []string {
	c := config.Default()
	c.Upstreams = []config.Upstream{u}
	err := c.Validate(upstream.Kinds())
	if err == nil {
		return nil
	}
	return err.(*config.ValidationError).Problems
}

// Every kind in the table: its keys are the upstream's keys, a minimal
// valid upstream (its required keys) builds a Source, every required key
// left out and every key it does not take is reported, naming the key, and
// its optional interfaces agree with the keys that configure them.
func TestEveryKindAgreesWithItsTable(t *testing.T) {
	kinds := upstream.Kinds()
	if len(kinds.Names()) == 0 {
		t.Fatal("no kinds")
	}
	for _, kind := range kinds.Names() {
		t.Run(kind, func(t *testing.T) {
			p := upstream.ProviderOf(kind)
			if p == nil || p.Kind() != kind {
				t.Fatalf("ProviderOf(%s) = %v", kind, p)
			}
			var requiredKeys []string
			for key, rule := range p.Config().Keys {
				if !slices.Contains(kindSpecificKeys, key) {
					t.Errorf("table names %q, which is no upstream key", key)
				}
				if rule.Required {
					requiredKeys = append(requiredKeys, key)
				}
			}

			minimal := config.Upstream{Name: "u", Kind: kind}
			for _, key := range append(slices.Clone(requiredKeys), credentials[kind].given...) {
				minimal = withKey(t, minimal, key)
			}
			if problems := validate(minimal); problems != nil {
				t.Fatalf("minimal upstream %+v:\n%s", minimal, strings.Join(problems, "\n"))
			}
			if src, err := upstream.New(minimal, upstream.Options{}); err != nil || src == nil {
				t.Errorf("New(minimal) = %v, %v", src, err)
			}

			full := minimal
			for _, key := range kindSpecificKeys {
				if kinds.Takes(kind, key) && !slices.Contains(credentials[kind].others, key) {
					full = withKey(t, full, key)
				}
			}
			if problems := validate(full); problems != nil {
				t.Errorf("every key the kind takes:\n%s", strings.Join(problems, "\n"))
			}
			if src, err := upstream.New(full, upstream.Options{}); err != nil || src == nil {
				t.Errorf("New(every key) = %v, %v", src, err)
			}

			for _, key := range requiredKeys {
				without := config.Upstream{Name: "u", Kind: kind}
				for _, other := range append(slices.Clone(requiredKeys), credentials[kind].given...) {
					if other != key {
						without = withKey(t, without, other)
					}
				}
				want := []string{"upstreams[0] (u)." + key + ": is required for kind " + kind}
				if got := validate(without); !slices.Equal(got, want) {
					t.Errorf("without %s: %q, want %q", key, got, want)
				}
			}
			for _, key := range kindSpecificKeys {
				if kinds.Takes(kind, key) {
					continue
				}
				want := []string{"upstreams[0] (u)." + key + ": does not apply to kind " + kind}
				if got := validate(withKey(t, minimal, key)); !slices.Equal(got, want) {
					t.Errorf("with %s: %q, want %q", key, got, want)
				}
			}

			_, recognizes := p.(upstream.ChangeRecognizer)
			if takes := kinds.Takes(kind, "passthrough_prefix"); takes != recognizes {
				t.Errorf("takes passthrough_prefix: %v, but recognises changes: %v", takes, recognizes)
			}
			if kinds.Takes(kind, "passthrough_prefix") && !kinds.Takes(kind, "base_url") {
				t.Error("takes passthrough_prefix without the base_url it forwards to")
			}
			_, receives := p.(upstream.WebhookReceiver)
			if takes := kinds.Takes(kind, "webhook_secret"); takes != receives {
				t.Errorf("takes webhook_secret: %v, but receives webhooks: %v", takes, receives)
			}
		})
	}
	if upstream.ProviderOf("libravatar") != nil {
		t.Error("ProviderOf an unknown kind is not nil")
	}
}

// The README's kinds, in its order, which messages follow.
func TestKindNames(t *testing.T) {
	want := []string{"file", "http", "box", "docspace", "activecollab", "gravatar"}
	if got := upstream.Kinds().Names(); !slices.Equal(got, want) {
		t.Errorf("kinds %v, want %v", got, want)
	}
}

// configCase is a change to a valid upstream and the one problem
// validation reports for the changed upstream, "" when it stays valid.
type configCase struct {
	name   string
	change func(u *config.Upstream) // nil: the upstream unchanged
	want   string
}

// checkConfigCases validates base with each case's change made to a copy.
func checkConfigCases(t *testing.T, base config.Upstream, cases []configCase) {
	t.Helper()
	for _, c := range cases {
		u := base
		if c.change != nil {
			c.change(&u)
		}
		problems := validate(u)
		switch {
		case c.want == "" && problems != nil:
			t.Errorf("%s: want valid, got:\n%s", c.name, strings.Join(problems, "\n"))
		case c.want != "" && (len(problems) != 1 || !strings.Contains(problems[0], c.want)):
			t.Errorf("%s: got %q, want one problem containing %q", c.name, problems, c.want)
		}
	}
}

// change is what RecognizeChange should answer: the user ids to purge,
// separated by spaces, or "" for no change.
type changeCase struct {
	method, path, userIDs string
}

func checkChanges(t *testing.T, kind string, cases []changeCase) map[changeCase]*upstream.Change {
	t.Helper()
	rec := upstream.ProviderOf(kind).(upstream.ChangeRecognizer)
	got := make(map[changeCase]*upstream.Change)
	for _, c := range cases {
		ch := rec.RecognizeChange(c.method, c.path)
		switch {
		case c.userIDs == "" && ch != nil:
			t.Errorf("%s %s: change of %q, want none", c.method, c.path, ch.UserIDs)
		case c.userIDs != "" && (ch == nil || strings.Join(ch.UserIDs, " ") != c.userIDs):
			t.Errorf("%s %s: %+v, want a change of %q", c.method, c.path, ch, c.userIDs)
		}
		got[c] = ch
	}
	return got
}

// credentialCase is a webhook's headers and what WebhookCredential should
// say of them: whether the provider's credential is present, whether the
// headers alone refuse it, and whether it accepts the body checked.
type credentialCase struct {
	name                    string
	header                  http.Header
	present, refused, valid bool
}

// checkWebhookCredential reads each case's headers with the secret s3cret
// and, where the credential signs the body, checks body with it: it is
// valid when present, not refused, and its signature, if any, verifies.
func checkWebhookCredential(t *testing.T, wr upstream.WebhookReceiver, body []byte, cases []credentialCase) {
	t.Helper()
	for _, c := range cases {
		cred := wr.WebhookCredential(c.header, "s3cret")
		valid := cred.Present && !cred.Refused && (cred.Signature == nil || cred.Signature(body))
		if cred.Present != c.present || cred.Refused != c.refused || valid != c.valid {
			t.Errorf("%s: present %v refused %v valid %v, want %v %v %v", c.name, cred.Present, cred.Refused, valid, c.present, c.refused, c.valid)
		}
	}
}

// checkWebhookUser checks the user WebhookEvent finds in each body of
// users ("" for an event about no user), and that each body of bad is a
// *upstream.WebhookError whose message starts with the text given.
func checkWebhookUser(t *testing.T, wr upstream.WebhookReceiver, users, bad map[string]string) {
	t.Helper()
	for body, want := range users {
		if got, err := wr.WebhookEvent([]byte(body)); err != nil || got.UserID != want {
			t.Errorf("%s: %+v, %v; want user %q", body, got, err, want)
		}
	}
	for body, mention := range bad {
		_, err := wr.WebhookEvent([]byte(body))
		var werr *upstream.WebhookError
		if !errors.As(err, &werr) || !strings.HasPrefix(werr.Msg, mention) {
			t.Errorf("%s: %v, want a WebhookError starting %q", body, err, mention)
		}
	}
}
