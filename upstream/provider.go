package upstream

import (
	"github.com/avatarproxy/avatarproxy/config"
)

// Provider is one upstream kind, declared in the kind's own file: the
// configuration it takes and how it builds a Source. A provider may also
// know more of its API, told by optional interfaces: ChangeRecognizer for
// pass-through requests that change avatars, WebhookReceiver for webhooks.
// Those are facts about the provider's wire format, the same for every
// upstream of the kind, so they live on the Provider rather than on a
// Source.
type Provider interface {
	// Kind is the name an upstream's kind key selects the provider by.
	Kind() string
	// Config is the schema of the kind's keys, which config validation
	// checks every upstream of the kind against.
	Config() config.KindRules
	// newSource builds the Source of an upstream that passed validation.
	newSource(cfg config.Upstream, opt Options) Source
}

// localProvider is implemented by providers whose sources read the local
// disk, which has no outage for a circuit breaker to shield callers from.
type localProvider interface{ local() }

// providers lists every kind, in the order messages and the README name
// them. Adding a kind adds its Provider here.
func providers() []Provider {
	return []Provider{
		fileProvider{},
		httpProvider{},
		boxProvider{},
		docSpaceProvider{},
		activeCollabProvider{},
		gravatarProvider{},
	}
}

// providerByKind is the providers keyed by kind, built once and only read
// after: webhooks and pass-through requests look their provider up.
var providerByKind = func() map[string]Provider {
	byKind := make(map[string]Provider)
	for _, p := range providers() {
		byKind[p.Kind()] = p
	}
	return byKind
}()

// ProviderOf returns the provider of a kind, or nil for a kind that is not
// one.
func ProviderOf(kind string) Provider {
	return providerByKind[kind]
}

// Kinds returns the configuration schema of every kind, for config.Load,
// config.Parse and Config.Validate.
func Kinds() config.Kinds {
	var kinds []config.Kind
	for _, p := range providers() {
		kinds = append(kinds, config.Kind{Name: p.Kind(), Rules: p.Config()})
	}
	return config.NewKinds(kinds...)
}

// networkRules returns the schema of a kind that reaches the network: its
// own keys and the timeouts every such kind takes.
func networkRules(own map[string]config.KeyRule) config.KindRules {
	for _, key := range []string{"connect_timeout", "header_timeout", "timeout"} {
		own[key] = config.KeyRule{}
	}
	return config.KindRules{Keys: own}
}
