package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/failure"
	"github.com/avatarproxy/avatarproxy/netguard"
)

// userAgent identifies the proxy to the providers.
const userAgent = "avatarproxy"

// fetcher sends an upstream's outbound requests and turns what happens to
// them into the package's errors and Observe calls.
type fetcher struct {
	upstream string
	client   *http.Client
	total    time.Duration
	maxBytes int64
	observe  func(upstream, code string, d time.Duration)
	// header is sent with every request: credentials and Accept.
	header http.Header
	// token, when set, supplies the Authorization of every request and is
	// renewed when the API answers 401.
	token *tokenCache
}

func newFetcher(cfg config.Upstream, opt Options, header http.Header) *fetcher {
	_, _, total := cfg.Timeouts()
	return &fetcher{
		upstream: cfg.Name,
		client:   NewHTTPClient(cfg, opt.Guard),
		total:    total,
		maxBytes: opt.MaxBytes,
		observe:  opt.Observe,
		header:   header,
	}
}

// response is an upstream's answer with its body read, for 2xx only.
type response struct {
	status int
	header http.Header
	body   []byte
	url    *url.URL
}

// withDeadline bounds one whole fetch, every request and body read in it.
func (f *fetcher) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.total)
}

// get sends a GET, conditional when cond carries validators, and reads a
// successful body up to the byte limit. With a token, a 401 renews it and
// the request is sent once more: a token can be revoked, or expire early
// by the provider's clock, before its renewal is due.
func (f *fetcher) get(ctx context.Context, target string, cond Validators) (*response, error) {
	if f.token == nil {
		return f.send(ctx, target, cond, "")
	}
	var (
		r   *response
		err error
	)
	for range 2 {
		var auth string
		if auth, err = f.token.authorization(ctx); err != nil {
			return nil, f.fail(reasonFor(ctx, err), err)
		}
		r, err = f.send(ctx, target, cond, auth)
		if err != nil || r.status != http.StatusUnauthorized {
			return r, err
		}
		f.token.refused(auth)
	}
	return r, err
}

// send is one GET of get, with authorization as its Authorization header
// when it is not empty.
func (f *fetcher) send(ctx context.Context, target string, cond Validators, authorization string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, f.fail(failure.BadURL, errors.New("cannot build the request URL"))
	}
	req.Header = f.header.Clone()
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	req.Header.Set("User-Agent", userAgent)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if cond.ETag != "" {
		req.Header.Set("If-None-Match", cond.ETag)
	}
	if cond.LastModified != "" {
		req.Header.Set("If-Modified-Since", cond.LastModified)
	}

	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		f.report("error", start)
		return nil, f.fail(reasonFor(ctx, err), requestError(req, err))
	}
	defer resp.Body.Close()

	r := &response{status: resp.StatusCode, header: resp.Header, url: resp.Request.URL}
	switch {
	case resp.StatusCode/100 == 2 && resp.ContentLength > f.maxBytes:
		// A declared length is trusted to refuse early, never to accept.
		err = f.fail(failure.TooLarge, fmt.Errorf("%s: declared %d bytes, limit %d", describe(req.URL), resp.ContentLength, f.maxBytes))
	case resp.StatusCode/100 == 2:
		r.body, err = f.readBody(ctx, req, resp.Body, resp.ContentLength)
	default:
		// Drain a little so a short error page does not cost the connection.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	}
	f.report(strconv.Itoa(resp.StatusCode), start)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// readBody reads at most maxBytes, counting what arrives rather than
// trusting Content-Length, which may lie or be absent. A declared length,
// already within maxBytes, is read into a buffer of exactly that size: the
// transport fails a body that ends short and stops one that runs long, and
// a burst of large fetches holds each body once instead of the twice that
// growing a buffer takes.
func (f *fetcher) readBody(ctx context.Context, req *http.Request, body io.Reader, declared int64) ([]byte, error) {
	if declared > 0 {
		b := make([]byte, declared)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, f.fail(reasonFor(ctx, err), requestError(req, fmt.Errorf("reading body: %w", err)))
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(body, f.maxBytes+1))
	if err != nil {
		return nil, f.fail(reasonFor(ctx, err), requestError(req, fmt.Errorf("reading body: %w", err)))
	}
	if int64(len(b)) > f.maxBytes {
		return nil, f.fail(failure.TooLarge, fmt.Errorf("%s: body exceeds %d bytes", describe(req.URL), f.maxBytes))
	}
	return b, nil
}

func (f *fetcher) report(code string, start time.Time) {
	if f.observe != nil {
		f.observe(f.upstream, code, time.Since(start))
	}
}

func (f *fetcher) fail(c *failure.Class, err error) *Error {
	return newError(f.upstream, c, err)
}

// statusError is the failure for a status the provider's API never sends
// for a good request.
func (f *fetcher) statusError(r *response) *Error {
	c := failure.UpstreamStatus
	if r.status >= 500 {
		c = failure.UpstreamServerFail
	}
	e := f.fail(c, fmt.Errorf("%s: unexpected status %s", describe(r.url), http.StatusText(r.status)))
	e.Reason = "status-" + strconv.Itoa(r.status)
	return e
}

// reasonFor classifies a failed request or body read.
func reasonFor(ctx context.Context, err error) *failure.Class {
	var netErr net.Error
	switch {
	case errors.Is(err, errNoToken):
		return failure.Auth
	case errors.Is(err, netguard.ErrForbidden):
		return failure.ForbiddenAddress
	case errors.Is(err, errRedirect):
		return failure.Redirect
	case errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return failure.Timeout
	case ctx.Err() != nil:
		return failure.Canceled
	default:
		return failure.Unreachable
	}
}

// requestError describes a failed request without its query string or
// user info, which is where a URL would carry a secret; net/http's own
// *url.Error prints the whole URL.
func requestError(req *http.Request, err error) error {
	return fmt.Errorf("%s %s: %w", req.Method, describe(req.URL), withoutURL(err))
}

// withoutURL is err without the *url.Error net/http wraps a failed request
// in, whose text is the whole URL, query and user info included.
func withoutURL(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// describe is u fit for an error message: scheme, host and path only.
func describe(u *url.URL) string {
	if u == nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// fetchImage fetches an avatar served as a plain image, where 404 (and
// 410) mean the user has none and 304 confirms the caller's copy.
func (f *fetcher) fetchImage(ctx context.Context, target string, cond Validators) (*Original, error) {
	ctx, cancel := f.withDeadline(ctx)
	defer cancel()
	r, err := f.get(ctx, target, cond)
	if err != nil {
		return nil, err
	}
	switch r.status {
	case http.StatusOK:
		return &Original{Body: r.body, Validators: validatorsOf(r.header)}, nil
	case http.StatusNotModified:
		if cond == (Validators{}) {
			// Nothing was asked for that a 304 could confirm.
			return nil, f.statusError(r)
		}
		v := validatorsOf(r.header)
		if v.ETag == "" {
			v.ETag = cond.ETag
		}
		if v.LastModified == "" {
			v.LastModified = cond.LastModified
		}
		return &Original{NotModified: true, Validators: v}, nil
	case http.StatusNotFound, http.StatusGone:
		return nil, ErrNotFound
	default:
		return nil, f.statusError(r)
	}
}

func validatorsOf(h http.Header) Validators {
	return Validators{ETag: h.Get("ETag"), LastModified: h.Get("Last-Modified")}
}

// getJSON fetches a provider's JSON document into v; 404 is ErrNotFound.
func (f *fetcher) getJSON(ctx context.Context, target string, v any) error {
	ctx, cancel := f.withDeadline(ctx)
	defer cancel()
	r, err := f.get(ctx, target, Validators{})
	if err != nil {
		return err
	}
	switch r.status {
	case http.StatusOK:
	case http.StatusNotFound:
		return ErrNotFound
	default:
		return f.statusError(r)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return f.fail(failure.BadResponse, fmt.Errorf("%s: decoding JSON: %w", describe(r.url), err))
	}
	return nil
}
