package upstream

import (
	"context"
	"net/url"
	"strings"
)

// readDisplayName reads the record of userID at usersURL+{userID} as R and
// returns the name names finds in it: the display name, else the first and
// last names. An id that is not one path segment is ErrNotFound.
func readDisplayName[R any](ctx context.Context, f *fetcher, usersURL, userID string,
	names func(*R) (display, first, last string)) (string, error) {
	if !isPathSegmentID(userID) {
		return "", ErrNotFound
	}
	var record R
	if err := f.getJSON(ctx, usersURL+url.PathEscape(userID), &record); err != nil {
		return "", err
	}
	display, first, last := names(&record)
	if display != "" {
		return display, nil
	}
	return strings.TrimSpace(first + " " + last), nil
}
