package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/avatarproxy/avatarproxy/config"
	"github.com/avatarproxy/avatarproxy/failure"
)

// KindFile is a folder of image files.
const KindFile = "file"

// fileProvider reads avatars from a local folder.
type fileProvider struct{}

func (fileProvider) Kind() string { return KindFile }

func (fileProvider) Config() config.KindRules {
	return config.KindRules{Keys: map[string]config.KeyRule{
		"root": {Required: true, Check: checkRoot},
	}}
}

func checkRoot(root string) error {
	info, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", root)
	}
	return nil
}

func (fileProvider) local() {}

func (fileProvider) newSource(cfg config.Upstream, opt Options) Source {
	return &fileSource{name: cfg.Name, root: cfg.Root, maxBytes: opt.MaxBytes, observe: opt.Observe}
}

// fileExtensions are tried in this order; the first file that exists wins.
var fileExtensions = []string{".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif"}

// fileSource reads avatars from {root}/{user_id}.{ext}.
type fileSource struct {
	name     string
	root     string
	maxBytes int64
	observe  func(upstream, code string, d time.Duration)
}

// Fetch reads the first of the user's image files that exists. The file is
// opened through an os.Root, so neither the id nor a symbolic link can
// reach outside root; ids that could only be meant as paths are refused
// before the file system is touched.
func (s *fileSource) Fetch(ctx context.Context, userID string, cond Validators) (*Original, error) {
	start := time.Now()
	o, err := s.read(ctx, userID, cond)
	if s.observe != nil {
		s.observe(s.name, fileCode(o, err), time.Since(start))
	}
	return o, err
}

func fileCode(o *Original, err error) string {
	switch {
	case errors.Is(err, ErrNotFound):
		return "404"
	case err != nil:
		return "error"
	case o.NotModified:
		return "304"
	default:
		return "200"
	}
}

func (s *fileSource) read(ctx context.Context, userID string, cond Validators) (*Original, error) {
	if !isFileID(userID) {
		return nil, ErrNotFound
	}
	if err := ctx.Err(); err != nil {
		return nil, s.fail(failure.Canceled, err)
	}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		return nil, s.fail(failure.Unreadable, err)
	}
	defer root.Close()

	for _, ext := range fileExtensions {
		name := userID + ext
		fi, err := root.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			// Includes a link that leads outside root.
			return nil, s.fail(failure.Unreadable, err)
		}
		if !fi.Mode().IsRegular() {
			// Opening a FIFO would block; a directory has no image.
			continue
		}
		return s.readFile(root, name, ext, fi, cond)
	}
	return nil, ErrNotFound
}

func (s *fileSource) readFile(root *os.Root, name, ext string, fi fs.FileInfo, cond Validators) (*Original, error) {
	v := fileValidators(ext, fi)
	if unchanged(cond, v, fi.ModTime()) {
		return &Original{NotModified: true, Validators: v}, nil
	}
	if fi.Size() > s.maxBytes {
		return nil, s.fail(failure.TooLarge, fmt.Errorf("%s: %d bytes exceeds %d", name, fi.Size(), s.maxBytes))
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, s.fail(failure.Unreadable, err)
	}
	defer f.Close()
	// The file may grow between Stat and read; the limit holds regardless.
	body, err := io.ReadAll(io.LimitReader(f, s.maxBytes+1))
	if err != nil {
		return nil, s.fail(failure.Unreadable, err)
	}
	if int64(len(body)) > s.maxBytes {
		return nil, s.fail(failure.TooLarge, fmt.Errorf("%s: exceeds %d bytes", name, s.maxBytes))
	}
	return &Original{Body: body, Validators: v}, nil
}

// fileValidators derive from the file's extension, modification time and
// size: the ETag changes with any of them, Last-Modified only by seconds.
func fileValidators(ext string, fi fs.FileInfo) Validators {
	etag := `"` + strings.TrimPrefix(ext, ".") + "-" +
		strconv.FormatInt(fi.ModTime().UnixNano(), 36) + "-" +
		strconv.FormatInt(fi.Size(), 36) + `"`
	return Validators{ETag: etag, LastModified: fi.ModTime().UTC().Format(http.TimeFormat)}
}

// unchanged applies HTTP's rule: the ETag decides when the caller has one,
// else Last-Modified at its one-second resolution.
func unchanged(cond, current Validators, modTime time.Time) bool {
	if cond.ETag != "" {
		return cond.ETag == current.ETag
	}
	if cond.LastModified == "" {
		return false
	}
	since, err := http.ParseTime(cond.LastModified)
	return err == nil && !modTime.Truncate(time.Second).After(since)
}

func (s *fileSource) fail(c *failure.Class, err error) *Error {
	return newError(s.name, c, err)
}

// isFileID reports whether id can name a file directly inside root: not
// empty, no path separator or NUL, and not starting with a dot (no ".",
// "..", or hidden files).
func isFileID(id string) bool {
	return id != "" && id[0] != '.' && !strings.ContainsAny(id, `/\`+"\x00")
}
