package upstream_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/upstream"
)

// mustNotHang bounds checks that must finish well before it.
const mustNotHang = 5 * time.Second

func httpUpstream(template string) config.Upstream {
	return config.Upstream{Name: "origin", Kind: "http", URLTemplate: template}
}

func TestHTTPFetch(t *testing.T) {
	img := testimages.SeededPNG("alice", 40, 40)
	var gotURI, gotUA, gotINM, gotIMS atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotURI.Store(r.RequestURI)
		gotUA.Store(r.UserAgent())
		gotINM.Store(r.Header.Get("If-None-Match"))
		gotIMS.Store(r.Header.Get("If-Modified-Since"))
		switch r.URL.Path {
		case "/a/gone.png":
			w.WriteHeader(http.StatusGone)
			return
		case "/a/broken.png":
			w.WriteHeader(http.StatusBadGateway)
			return
		case "/a/alice.png", "/a/a b/c.png":
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/plain") // not to be trusted
		_, _ = w.Write(img)
	}))
	defer srv.Close()

	var obs observer
	src := newSource(t, httpUpstream(srv.URL+"/a/{user_id}.png"), upstream.Options{Observe: obs.observe})

	o := mustFetch(t, src, "alice", upstream.Validators{})
	if !bytes.Equal(o.Body, img) {
		t.Errorf("body: got %d bytes, want the image intact", len(o.Body))
	}
	if want := (upstream.Validators{ETag: `"v1"`, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT"}); o.Validators != want {
		t.Errorf("validators = %+v, want %+v", o.Validators, want)
	}
	if ua := gotUA.Load(); ua != "avatarproxy" {
		t.Errorf("User-Agent = %q, want avatarproxy", ua)
	}

	again := mustFetch(t, src, "alice", o.Validators)
	if !again.NotModified || again.Body != nil || again.Validators.ETag != `"v1"` {
		t.Errorf("conditional fetch = %+v, want NotModified with the ETag", again)
	}
	if inm, ims := gotINM.Load(), gotIMS.Load(); inm != `"v1"` || ims != o.Validators.LastModified {
		t.Errorf("sent If-None-Match %q and If-Modified-Since %q, want the validators", inm, ims)
	}

	mustFetch(t, src, "a b/c", upstream.Validators{})
	if uri := gotURI.Load(); uri != "/a/a%20b%2Fc.png" {
		t.Errorf("request URI = %q, want the id path-escaped", uri)
	}

	for _, id := range []string{"nobody", "gone"} {
		o, err := fetch(t, src, id, upstream.Validators{})
		wantNotFound(t, o, err)
	}
	for _, id := range []string{"", ".", ".."} {
		o, err := fetch(t, src, id, upstream.Validators{})
		wantNotFound(t, o, err)
	}
	_, err := fetch(t, src, "broken", upstream.Validators{})
	if r := reasonOf(t, err); r != "status-502" {
		t.Errorf("502: reason %q, want status-502", r)
	}
	if got, want := obs.take(), []string{"200", "304", "200", "404", "410", "502"}; !slices.Equal(got, want) {
		t.Errorf("Observe codes = %v, want %v", got, want)
	}
}

func TestHTTPTemplateQueryEscaping(t *testing.T) {
	var query atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query.Store(r.URL.Query())
		_, _ = w.Write(testimages.SeededPNG("q", 8, 8))
	}))
	defer srv.Close()
	src := newSource(t, httpUpstream(srv.URL+"/avatar?user={user_id}&size=512"), upstream.Options{})
	mustFetch(t, src, "a&size=1", upstream.Validators{})
	q := query.Load().(url.Values)
	if got := q["user"]; len(got) != 1 || got[0] != "a&size=1" {
		t.Errorf("user = %q, want the whole id as one value", got)
	}
	if got := q["size"]; len(got) != 1 || got[0] != "512" {
		t.Errorf("size = %q, want only the template's", got)
	}
}

func TestRedirects(t *testing.T) {
	img := testimages.SeededJPEG("r", 8, 8)
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignHits.Add(1)
		_, _ = w.Write(img)
	}))
	defer foreign.Close()

	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var hops int
		switch {
		case r.URL.Path == "/final":
			_, _ = w.Write(img)
		case r.URL.Path == "/away":
			http.Redirect(w, r, foreign.URL+"/final", http.StatusFound)
		case r.URL.Path == "/away-by-name":
			// The same server under another host name is another origin.
			http.Redirect(w, r, "http://"+strings.Replace(r.Host, "127.0.0.1", "localhost", 1)+"/final", http.StatusFound)
		case r.URL.Path == "/https":
			http.Redirect(w, r, "https://"+r.Host+"/final", http.StatusFound)
		default:
			if _, err := fmt.Sscanf(r.URL.Path, "/hops/%d", &hops); err != nil {
				http.NotFound(w, r)
				return
			}
			next := "/final"
			if hops > 1 {
				next = fmt.Sprintf("/hops/%d", hops-1)
			}
			http.Redirect(w, r, next, http.StatusFound)
		}
	}))
	defer origin.Close()

	for _, tc := range []struct {
		path       string
		wantReason string
	}{
		{"/hops/3", ""},
		{"/hops/4", "redirect"},
		{"/away", "redirect"},
		{"/away-by-name", "redirect"},
		{"/https", "redirect"},
	} {
		src := newSource(t, httpUpstream(origin.URL+tc.path+"?u={user_id}"), upstream.Options{})
		o, err := fetch(t, src, "x", upstream.Validators{})
		if tc.wantReason == "" {
			if err != nil || !bytes.Equal(o.Body, img) {
				t.Errorf("%s: got (%v, %v), want the image after same-origin redirects", tc.path, o, err)
			}
			continue
		}
		if r := reasonOf(t, err); r != tc.wantReason {
			t.Errorf("%s: reason %q (%v), want %q", tc.path, r, err, tc.wantReason)
		}
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("the other origin got %d requests, want none", n)
	}
}

func TestDialGuard(t *testing.T) {
	for _, target := range []string{
		"http://169.254.169.254/latest/meta-data/{user_id}",
		"http://[fe80::1]:80/{user_id}",
		"http://0.0.0.0:80/{user_id}",
		"http://[::]:80/{user_id}",
	} {
		cfg := httpUpstream(target)
		// Long enough that a real connection attempt would show in the
		// elapsed time; the guard refuses before any attempt.
		cfg.ConnectTimeout = config.Duration(30 * time.Second)
		wantPromptFailure(t, cfg, target, "forbidden-address", "error")
	}
}

func TestDialGuardAllowsLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	client := upstream.NewHTTPClient(httpUpstream(srv.URL+"/{user_id}"), nil)
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("loopback refused: %v", err)
	}
	resp.Body.Close()
}

// rawServer answers every connection with response, written as is, then
// closes it.
func rawServer(t *testing.T, response string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = http.ReadRequest(bufio.NewReader(conn))
				_, _ = conn.Write([]byte(response))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func chunked(body []byte) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(len(body), 1000)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

func TestBodyLimit(t *testing.T) {
	const limit = 1000
	big := bytes.Repeat([]byte("a"), 5000)
	flushing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 5 {
			_, _ = w.Write(big[:1000])
			w.(http.Flusher).Flush() // chunked: no Content-Length
		}
	}))
	defer flushing.Close()
	declared := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(big)
	}))
	defer declared.Close()

	for name, base := range map[string]string{
		"chunked":                        flushing.URL,
		"declared length over the limit": declared.URL,
		"length claimed small, body chunked": rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"+
			"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"+chunked(big)),
		"no length, body until close": rawServer(t, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"+string(big)),
	} {
		var obs observer
		src := newSource(t, httpUpstream(base+"/{user_id}"), upstream.Options{MaxBytes: limit, Observe: obs.observe})
		_, err := fetch(t, src, "x", upstream.Validators{})
		if r := reasonOf(t, err); r != "too-large" {
			t.Errorf("%s: reason %q (%v), want too-large", name, r, err)
		}
		if got := obs.take(); !slices.Equal(got, []string{"200"}) {
			t.Errorf("%s: Observe codes = %v, want [200]", name, got)
		}
	}

	// At the limit exactly is fine.
	src := newSource(t, httpUpstream(declared.URL+"/{user_id}"), upstream.Options{MaxBytes: int64(len(big))})
	if o := mustFetch(t, src, "x", upstream.Validators{}); len(o.Body) != len(big) {
		t.Errorf("at the limit: got %d bytes, want %d", len(o.Body), len(big))
	}
}

func TestTotalTimeoutCoversBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for {
			_, _ = w.Write([]byte("x"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	cfg := httpUpstream(srv.URL + "/{user_id}")
	cfg.Timeout = config.Duration(300 * time.Millisecond)
	wantPromptFailure(t, cfg, "slow body", "timeout", "200") // the headers came
}

// wantPromptFailure fetches from cfg, which must fail for reason rather
// than hang, observing codes; what names the case in messages.
func wantPromptFailure(t *testing.T, cfg config.Upstream, what, reason string, codes ...string) {
	t.Helper()
	var obs observer
	src := newSource(t, cfg, upstream.Options{Observe: obs.observe})
	start := time.Now()
	_, err := fetch(t, src, "x", upstream.Validators{})
	if elapsed := time.Since(start); elapsed > mustNotHang {
		t.Errorf("%s: took %v", what, elapsed)
	}
	if r := reasonOf(t, err); r != reason {
		t.Errorf("%s: reason %q (%v), want %s", what, r, err, reason)
	}
	if got := obs.take(); !slices.Equal(got, codes) {
		t.Errorf("%s: Observe codes = %v, want %v", what, got, codes)
	}
}

func TestHeaderTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}))
	defer srv.Close()
	cfg := httpUpstream(srv.URL + "/{user_id}")
	cfg.HeaderTimeout = config.Duration(200 * time.Millisecond)
	cfg.Timeout = config.Duration(time.Minute) // so only the header timeout can end it
	wantPromptFailure(t, cfg, "silent server", "timeout", "error")
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	src := newSource(t, httpUpstream("http://"+addr+"/{user_id}"), upstream.Options{})
	_, err = fetch(t, src, "x", upstream.Validators{})
	if r := reasonOf(t, err); r != "unreachable" {
		t.Errorf("reason %q (%v), want unreachable", r, err)
	}
}

func TestCredentialsNeverInErrors(t *testing.T) {
	const secret = "s3cr3t-credential-value"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Echo the request back, as some error pages do.
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "bad request %s with %v", r.RequestURI, r.Header)
	}))
	defer echo.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, echo.URL+r.RequestURI, http.StatusFound)
	}))
	defer redirect.Close()
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer silent.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	for _, base := range []string{echo.URL, redirect.URL, silent.URL, closed} {
		host := strings.TrimPrefix(base, "http://")
		for _, cfg := range []config.Upstream{
			{Name: "b", Kind: "box", BaseURL: base, Token: secret},
			{Name: "d", Kind: "docspace", BaseURL: base, APIKey: secret},
			{Name: "a", Kind: "activecollab", BaseURL: base, Token: secret},
			{Name: "h", Kind: "http", URLTemplate: "http://user:" + secret + "@" + host + "/{user_id}?key=" + secret},
		} {
			cfg.HeaderTimeout = config.Duration(100 * time.Millisecond)
			src := newSource(t, cfg, upstream.Options{})
			_, err := fetch(t, src, "u1", upstream.Validators{})
			if err == nil {
				t.Errorf("%s at %s: no error", cfg.Kind, base)
				continue
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error carries the credential: %v", cfg.Kind, err)
			}
		}
	}
}

// A body of declared length is read into one buffer of its size: a burst
// of large fetches must not hold each body twice while it arrives.
func TestFetchReadsDeclaredLengthOnce(t *testing.T) {
	body := bytes.Repeat([]byte{0xAB}, 4<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	src := newSource(t, httpUpstream(srv.URL+"/{user_id}"), upstream.Options{MaxBytes: 8 << 20})
	mustFetch(t, src, "warm", upstream.Validators{}) // connections and pools made

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := mustFetch(t, src, "big", upstream.Validators{})
	runtime.ReadMemStats(&after)
	if !bytes.Equal(got.Body, body) {
		t.Fatalf("body of %d bytes, want %d", len(got.Body), len(body))
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > uint64(len(body))*5/4 {
		t.Errorf("fetching %d bytes allocated %d", len(body), allocated)
	}
}
