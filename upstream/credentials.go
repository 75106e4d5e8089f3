package upstream

import (
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
