package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// coldCase is one output every system makes from every real avatar, one
// image at a time, with nothing cached.
type coldCase struct {
	name   string
	edge   int
	format string // avatarproxy's format parameter
	ext    string // imgproxy's extension and vipsthumbnail's suffix
	opts   string // vipsthumbnail's save options
}

func benchCold(o options, e *env, set *imageSet, t *table) error {
	cases := []coldCase{
		{"cold resize, real avatars -> 80 px JPEG", 80, "jpeg", "jpg", "[Q=80,strip]"},
		{"cold resize, real avatars -> 256 px WebP", 256, "webp", "webp", "[Q=80,strip]"},
	}
	for _, c := range cases {
		var proxyMS, imgMS, thumbMS, proxyBytes, imgBytes, thumbBytes []float64
		for round := range o.rounds {
			prefix := fmt.Sprintf("c%s%d-", c.ext, round)
			for i, img := range set.images {
				if err := set.link(fmt.Sprintf("%s%d", prefix, i), img); err != nil {
					return err
				}
			}
			runs := []func() error{
				func() error {
					// A fresh process: nothing of an earlier round cached.
					if err := e.restartProxy(); err != nil {
						return err
					}
					per, size, err := sequential(len(set.images), func(i int) string {
						return "http://" + e.proxy.addr + proxyPath(fmt.Sprintf("%s%d", prefix, i), c.edge, c.format)
					})
					proxyMS, proxyBytes = append(proxyMS, per), append(proxyBytes, size)
					return err
				},
				func() error {
					if e.imgproxy == nil {
						return nil
					}
					per, size, err := sequential(len(set.images), func(i int) string {
						return "http://" + e.imgproxy.addr + e.imgproxyPath(fmt.Sprintf("%s%d", prefix, i), c.edge, c.ext)
					})
					imgMS, imgBytes = append(imgMS, per), append(imgBytes, size)
					return err
				},
				func() error {
					per, size, err := e.vipsthumbnail(set.images, c, round)
					thumbMS, thumbBytes = append(thumbMS, per), append(thumbBytes, size)
					return err
				},
			}
			for i := range runs {
				if err := runs[(i+round)%len(runs)](); err != nil {
					return fmt.Errorf("%s: %w", c.name, err)
				}
			}
		}
		t.add(c.name+", time per image", "ms", median(proxyMS), "vipsthumbnail", median(thumbMS), false)
		t.add(c.name+", bytes per image", "B", median(proxyBytes), "vipsthumbnail", median(thumbBytes), false)
		if e.imgproxy != nil {
			t.add(c.name+", time per image", "ms", median(proxyMS), "imgproxy", median(imgMS), false)
			t.add(c.name+", bytes per image", "B", median(proxyBytes), "imgproxy", median(imgBytes), false)
		}
	}
	return nil
}

// sequential asks for n URLs one after another and returns the mean time
// and size per image.
func sequential(n int, url func(int) string) (msPerImage, bytesPerImage float64, err error) {
	var total int
	start := time.Now()
	for i := range n {
		status, body, err := get(url(i), "")
		if err != nil {
			return 0, 0, err
		}
		if status != http.StatusOK {
			return 0, 0, fmt.Errorf("%s answered %d", url(i), status)
		}
		total += len(body)
	}
	elapsed := time.Since(start)
	return ms(elapsed) / float64(n), float64(total) / float64(n), nil
}

// vipsthumbnail makes the same squares with libvips' own command, one
// process over all images so that its start-up is spread over them.
func (e *env) vipsthumbnail(images []string, c coldCase, round int) (msPerImage, bytesPerImage float64, err error) {
	out := filepath.Join(e.dir, fmt.Sprintf("thumb-%s-%d", c.ext, round))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, 0, err
	}
	args := []string{"-c", e.o.serverCPU, "vipsthumbnail", "--size", fmt.Sprintf("%dx%d", c.edge, c.edge),
		"--smartcrop", "centre", "--export-profile", "srgb", "-o", filepath.Join(out, "%s."+c.ext+c.opts)}
	start := time.Now()
	if msg, err := exec.Command("taskset", append(args, images...)...).CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("vipsthumbnail: %v: %s", err, msg)
	}
	elapsed := time.Since(start)
	entries, err := os.ReadDir(out)
	if err != nil {
		return 0, 0, err
	}
	var total int64
	for _, f := range entries {
		if info, err := f.Info(); err == nil {
			total += info.Size()
		}
	}
	return ms(elapsed) / float64(len(images)), float64(total) / float64(len(entries)), nil
}
