package proxy

import (
	"io"
	"net/http"
	"time"
)

// withBodyDeadline bounds the time a client may take to send a request
// body: the connection's read deadline is set to d from now for a request
// that has a body, and lifted once the body has been read to its end, so
// that a long response after it (a pass-through download, an avatar that
// waits on its upstream) is not cut. A client that drips its body slowly
// has its connection closed when d runs out, also when the handler never
// reads the body and the server drains it after the response.
func withBodyDeadline(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		// An error means a connection that cannot take deadlines (none in
		// this server); the request is then served as it would be anyway.
		_ = rc.SetReadDeadline(time.Now().Add(d))
		r.Body = &deadlineLiftingBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		h.ServeHTTP(w, r)
	})
}

// deadlineLiftingBody calls lift once its reader reports the end.
type deadlineLiftingBody struct {
	io.ReadCloser
	lift   func()
	lifted bool
}

func (b *deadlineLiftingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		b.lift()
	}
	return n, err
}
