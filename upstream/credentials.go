package upstream

import (
	"errors"
	"net/url"
	"slices"
	"strings"
)

// setKeys names the keys of keys whose value is set, sorted, as "a, b";
// empty when none is. The credential rules of the kinds that take one of
// several credentials report with it.
func setKeys(keys map[string]string) string {
	var names []string
	for key, value := range keys {
		if value != "" {
			names = append(names, key)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// checkHTTPURL is the rule of a key that names an absolute http(s) URL.
func checkHTTPURL(value string) error {
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	return nil
}
