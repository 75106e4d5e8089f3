package config

import (
	"errors"
	"os"
	"testing"
)

// testKinds is a schema shaped like the providers' own, for the tests of
// validation's generic rules; each provider's schema is tested beside the
// provider.
func testKinds() Kinds {
	network := func(own map[string]KeyRule) KindRules {
		for _, key := range []string{"connect_timeout", "header_timeout", "timeout"} {
			own[key] = KeyRule{}
		}
		return KindRules{Keys: own}
	}
	isDir := func(root string) error {
		info, err := os.Stat(root)
		if err == nil && !info.IsDir() {
			err = errors.New(root + " is not a directory")
		}
		return err
	}
	return NewKinds(
		Kind{"file", KindRules{Keys: map[string]KeyRule{"root": {Required: true, Check: isDir}}}},
		Kind{"http", network(map[string]KeyRule{"url_template": {Required: true}})},
		Kind{"box", network(map[string]KeyRule{"base_url": {Required: true}, "token": {Required: true}, "passthrough_prefix": {}})},
		Kind{"docspace", network(map[string]KeyRule{"base_url": {Required: true}, "api_key": {Required: true}, "passthrough_prefix": {}, "webhook_secret": {}})},
		Kind{"activecollab", network(map[string]KeyRule{"base_url": {Required: true}, "token": {}, "passthrough_prefix": {}, "webhook_secret": {}})},
		Kind{"gravatar", network(map[string]KeyRule{"base_url": {Required: true}})},
	)
}

func TestNewKindsRefusesBadTables(t *testing.T) {
	for name, kinds := range map[string][]Kind{
		"unknown key": {{"box", KindRules{Keys: map[string]KeyRule{"base-url": {}}}}},
		"kind twice":  {{"box", KindRules{}}, {"box", KindRules{}}},
		"no name":     {{"", KindRules{}}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewKinds accepted the table")
				}
			}()
			NewKinds(kinds...)
		})
	}
}

func TestKindsDoNotChange(t *testing.T) {
	keys := map[string]KeyRule{"base_url": {Required: true}}
	kinds := NewKinds(Kind{"box", KindRules{Keys: keys}})
	keys["token"] = KeyRule{}
	delete(keys, "base_url")
	if kinds.Takes("box", "token") || !kinds.Takes("box", "base_url") {
		t.Error("changing the declared table changed the Kinds built from it")
	}
	names := kinds.Names()
	names[0] = "other"
	if kinds.Names()[0] != "box" {
		t.Error("changing Names' result changed the Kinds")
	}
}
