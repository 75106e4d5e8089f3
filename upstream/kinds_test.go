package upstream_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider"
	"github.com/avatarproxy/avatarproxy/internal/fakeprovider/fakeprovidertest"
	"github.com/avatarproxy/avatarproxy/internal/testimages"
	"github.com/avatarproxy/avatarproxy/upstream"
)

func TestBox(t *testing.T) {
	box := fakeprovidertest.NewBox(t, "service-token")
	img := testimages.SeededPNG("box-user", 50, 50) // Box labels it image/jpg all the same
	box.SetAvatar("1001", img)

	var obs observer
	src := newSource(t, config.Upstream{Kind: "box", BaseURL: box.BaseURL(), Token: "service-token"}, upstream.Options{Observe: obs.observe})
	o := mustFetch(t, src, "1001", upstream.Validators{})
	if !bytes.Equal(o.Body, img) {
		t.Errorf("got %d bytes, want the avatar intact", len(o.Body))
	}
	o, err := fetch(t, src, "2002", upstream.Validators{})
	wantNotFound(t, o, err)

	for _, r := range box.Requests() {
		if r.Route != fakeprovider.BoxGetAvatar || r.Credential != "service-token" {
			t.Errorf("request %+v: want avatar GETs with the service token", r)
		}
	}
	if got := obs.take(); !slices.Equal(got, []string{"200", "404"}) {
		t.Errorf("Observe codes = %v, want [200 404]", got)
	}

	wrong := newSource(t, config.Upstream{Kind: "box", BaseURL: box.BaseURL(), Token: "expired"}, upstream.Options{})
	_, err = fetch(t, wrong, "1001", upstream.Validators{})
	if r := reasonOf(t, err); r != "status-401" {
		t.Errorf("bad token: reason %q, want status-401", r)
	}
}

func TestDocSpace(t *testing.T) {
	ds := fakeprovidertest.NewDocSpace(t, "ds-key")
	img := testimages.SeededJPEG("ds-user", 120, 90)
	ds.SetPhoto("u1", img)
	ds.AddPerson("u2", "Grace", "Hopper")

	var obs observer
	src := newSource(t, config.Upstream{Kind: "docspace", BaseURL: ds.URL(), APIKey: "ds-key"}, upstream.Options{Observe: obs.observe})

	o := mustFetch(t, src, "u1", upstream.Validators{})
	if !bytes.Equal(o.Body, img) {
		t.Errorf("got %d bytes, want the original intact", len(o.Body))
	}
	if !strings.HasPrefix(o.Validators.ETag, ds.URL()+"/storage/userPhotos/root/u1_orig_120-90.jpeg?hash=") {
		t.Errorf("ETag %q, want the original's URL with its hash", o.Validators.ETag)
	}
	if got := obs.take(); !slices.Equal(got, []string{"200", "200"}) {
		t.Errorf("Observe codes = %v, want the JSON and the photo", got)
	}

	// Unchanged URL: NotModified without downloading the photo.
	files := ds.Count(fakeprovider.DocSpacePhotoFile)
	again := mustFetch(t, src, "u1", o.Validators)
	if !again.NotModified || again.Validators != o.Validators {
		t.Errorf("unchanged photo: %+v, want NotModified with the same ETag", again)
	}
	if n := ds.Count(fakeprovider.DocSpacePhotoFile); n != files {
		t.Errorf("photo downloaded %d more times, want none", n-files)
	}

	// A new photo has a new hash, so the old validators fetch it.
	newer := testimages.SeededJPEG("ds-user-2", 120, 90)
	ds.SetPhoto("u1", newer)
	changed := mustFetch(t, src, "u1", o.Validators)
	if changed.NotModified || !bytes.Equal(changed.Body, newer) || changed.Validators == o.Validators {
		t.Errorf("changed photo: NotModified=%v, new bytes=%v; want the new photo and ETag", changed.NotModified, bytes.Equal(changed.Body, newer))
	}

	// Default picture and unknown person: no avatar, and nothing downloaded.
	files = ds.Count(fakeprovider.DocSpacePhotoFile) + ds.Count(fakeprovider.DocSpaceDefaultPhoto)
	o, err := fetch(t, src, "u2", upstream.Validators{})
	wantNotFound(t, o, err)
	o, err = fetch(t, src, "nobody", upstream.Validators{})
	wantNotFound(t, o, err)
	if n := ds.Count(fakeprovider.DocSpacePhotoFile) + ds.Count(fakeprovider.DocSpaceDefaultPhoto); n != files {
		t.Errorf("%d image downloads for users without a photo, want none", n-files)
	}

	for _, r := range ds.Requests() {
		if r.Credential != "Bearer ds-key" {
			t.Errorf("%s %s carried %q, want Bearer and the API key", r.Method, r.URI, r.Credential)
		}
	}

	namer, ok := src.(upstream.Namer)
	if !ok {
		t.Fatal("docspace source is not a Namer")
	}
	if name, err := namer.DisplayName(context.Background(), "u2"); err != nil || name != "Grace Hopper" {
		t.Errorf("DisplayName = %q, %v; want Grace Hopper", name, err)
	}
	if _, err := namer.DisplayName(context.Background(), "nobody"); !errors.Is(err, upstream.ErrNotFound) {
		t.Errorf("DisplayName of an unknown person: %v, want ErrNotFound", err)
	}
}

func TestDocSpaceForeignHost(t *testing.T) {
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignHits.Add(1)
		_, _ = w.Write(testimages.SeededJPEG("foreign", 8, 8))
	}))
	defer foreign.Close()

	ds := fakeprovidertest.NewDocSpace(t, "ds-key")
	ds.SetPhoto("u1", testimages.SeededJPEG("u1", 16, 16))
	ds.SetStorageBase(foreign.URL)
	src := newSource(t, config.Upstream{Kind: "docspace", BaseURL: ds.URL(), APIKey: "ds-key"}, upstream.Options{})
	_, err := fetch(t, src, "u1", upstream.Validators{})
	if r := reasonOf(t, err); r != "foreign-host" {
		t.Errorf("reason %q (%v), want foreign-host", r, err)
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("foreign host got %d requests (with the API key), want none", n)
	}
}

func TestActiveCollab(t *testing.T) {
	ac := fakeprovidertest.NewActiveCollab(t, "ac-token")
	ac.AddUser("7", "Ada", "Lovelace")
	ac.SetAvatar("8", testimages.SeededJPEG("ac-8", 300, 300))

	var obs observer
	src := newSource(t, config.Upstream{Kind: "activecollab", BaseURL: ac.URL(), Token: "ac-token"}, upstream.Options{Observe: obs.observe})

	for _, id := range []string{"7", "8"} { // initials and an upload alike
		o := mustFetch(t, src, id, upstream.Validators{})
		cfg, err := png.DecodeConfig(bytes.NewReader(o.Body))
		if err != nil || cfg.Width != 512 {
			t.Errorf("user %s: %v, width %d; want the 256 px avatar as a 512 px PNG", id, err, cfg.Width)
		}
		if e := o.Validators.ETag; len(e) != 32 || strings.Contains(e, `"`) {
			t.Errorf("user %s: ETag %q, want ActiveCollab's unquoted MD5", id, e)
		}
		again := mustFetch(t, src, id, o.Validators)
		if !again.NotModified || again.Validators.ETag != o.Validators.ETag {
			t.Errorf("user %s: conditional fetch %+v, want NotModified", id, again)
		}
	}
	o, err := fetch(t, src, "999", upstream.Validators{})
	wantNotFound(t, o, err)
	if got, want := obs.take(), []string{"200", "304", "200", "304", "404"}; !slices.Equal(got, want) {
		t.Errorf("Observe codes = %v, want %v", got, want)
	}

	for _, r := range ac.Requests() {
		if r.Route == fakeprovider.ActiveCollabAvatar && (r.Credential != "ac-token" || !strings.Contains(r.URI, "module=system") || !strings.Contains(r.URI, "size=256")) {
			t.Errorf("avatar request %+v: want size=256, module=system and the token", r)
		}
	}

	namer := src.(upstream.Namer)
	if name, err := namer.DisplayName(context.Background(), "7"); err != nil || name != "Ada Lovelace" {
		t.Errorf("DisplayName = %q, %v; want Ada Lovelace", name, err)
	}
	if _, err := namer.DisplayName(context.Background(), "999"); !errors.Is(err, upstream.ErrNotFound) {
		t.Errorf("DisplayName of an unknown user: %v, want ErrNotFound", err)
	}
}

func TestGravatar(t *testing.T) {
	g := fakeprovidertest.NewGravatar(t)
	hash := fakeprovider.GravatarHash("Someone@Example.com ")
	img := testimages.SeededJPEG("grav", 100, 100)
	g.SetAvatar(hash, img)
	src := newSource(t, config.Upstream{Kind: "gravatar", BaseURL: g.URL()}, upstream.Options{})

	o := mustFetch(t, src, hash, upstream.Validators{})
	if !bytes.Equal(o.Body, img) {
		t.Errorf("got %d bytes, want the image intact", len(o.Body))
	}
	if again := mustFetch(t, src, hash, o.Validators); !again.NotModified {
		t.Errorf("conditional fetch %+v, want NotModified", again)
	}
	md5Hash := strings.Repeat("ab", 16)
	o, err := fetch(t, src, md5Hash, upstream.Validators{})
	wantNotFound(t, o, err)
	if r := g.Requests()[len(g.Requests())-1]; !strings.Contains(r.URI, "s=2048") || !strings.Contains(r.URI, "d=404") {
		t.Errorf("request %s, want s=2048 and d=404", r.URI)
	}

	before := g.Count(fakeprovider.GravatarAvatar)
	for _, id := range []string{"someone@example.com", strings.ToUpper(hash), hash[:40], "../" + hash[3:], ""} {
		o, err := fetch(t, src, id, upstream.Validators{})
		wantNotFound(t, o, err)
	}
	if n := g.Count(fakeprovider.GravatarAvatar); n != before {
		t.Errorf("%d requests for ids that are not hashes, want none", n-before)
	}
}

// Bad upstreams are refused by validation against Kinds, which New may
// then rely on; New itself still refuses a kind it does not know.
func TestBadConfigIsRefused(t *testing.T) {
	for _, u := range []config.Upstream{
		{Name: "x", Kind: "ftp"},
		{Name: "x", Kind: "file"},
		{Name: "x", Kind: "http", URLTemplate: "http://example.com/static.png"},
		{Name: "x", Kind: "http", URLTemplate: "/relative/{user_id}"},
		{Name: "x", Kind: "box", BaseURL: "https://api.box.com/2.0"},
		{Name: "x", Kind: "box", BaseURL: "api.box.com", Token: "t"},
		{Name: "x", Kind: "docspace", BaseURL: "https://ds.example.com"},
		{Name: "x", Kind: "gravatar", BaseURL: "ftp://gravatar.com"},
	} {
		c := config.Default()
		c.Upstreams = []config.Upstream{u}
		if err := c.Validate(upstream.Kinds()); err == nil {
			t.Errorf("Validate(%+v): no error", u)
		}
	}
	if _, err := upstream.New(config.Upstream{Name: "x", Kind: "ftp"}, upstream.Options{}); err == nil {
		t.Error("New of an unknown kind: no error")
	}
}
