package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// facesDir holds the user pictures of Debian's gnome-control-center-data:
// real photos and drawings of avatar size, JPEG and PNG.
const facesDir = "/usr/share/pixmaps/faces"

// burstImages is how many distinct large sources the cold burst asks for.
const burstImages = 64

// imageSet is the origin directory every system fetches from: one file per
// user, named by the user id without an extension, so that each system
// finds the format by sniffing as it would behind a real origin.
type imageSet struct {
	dir    string
	images []string // the real avatars
}

func prepareImages(dir string, users int) (*imageSet, error) {
	var images []string
	err := filepath.WalkDir(facesDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := strings.ToLower(filepath.Ext(path))
		if ext == ".jpg" || ext == ".jpeg" || ext == ".png" {
			if real, err := filepath.EvalSymlinks(path); err == nil && !slices.Contains(images, real) {
				images = append(images, real)
			}
		}
		return nil
	})
	if err != nil || len(images) == 0 {
		return nil, fmt.Errorf("no avatars under %s (install gnome-control-center-data): %v", facesDir, err)
	}
	slices.Sort(images)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	set := &imageSet{dir: dir, images: images}
	for i := range users {
		if err := set.link(userID(i), images[i%len(images)]); err != nil {
			return nil, err
		}
	}
	// Large sources for the cold burst: the largest faces enlarged to
	// 3072 px, each under its own name so every request is a cold one.
	large := filepath.Join(dir, "large")
	if err := os.MkdirAll(large, 0o755); err != nil {
		return nil, err
	}
	var big []string
	for _, img := range images {
		out := filepath.Join(large, fmt.Sprintf("%d.jpg", len(big)))
		// vips thumbnail with --size force enlarges to exactly 3072x3072.
		cmd := exec.Command("vipsthumbnail", img, "--size", "3072x3072!", "-o", out+"[Q=92]")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("vipsthumbnail (install libvips-tools): %v: %s", err, msg)
		}
		big = append(big, out)
		if len(big) == 8 {
			break
		}
	}
	for i := range burstImages {
		if err := set.link(fmt.Sprintf("big%02d", i), big[i%len(big)]); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// link makes user id's original the file src.
func (s *imageSet) link(id, src string) error {
	dst := filepath.Join(s.dir, id)
	os.Remove(dst)
	return os.Symlink(src, dst)
}

func userID(i int) string { return fmt.Sprintf("u%05d", i) }
