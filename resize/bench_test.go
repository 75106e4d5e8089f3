package resize

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// The benchmarks take one CPU when run as the README says, pinned with
// taskset, so that libvips' threads cannot hide the work on the other core:
//
//	taskset -c 1 go test ./resize -run '^$' -bench . -benchmem
//
// Besides the wall time they report cpu-ns/op, the CPU time the process
// (or vipsthumbnail) spent, which other load on a shared machine disturbs
// far less.

// cpuTime returns the CPU time this process has used, every thread.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// resizeSource is a source BenchmarkResize and TestResizeAllocations use.
type resizeSource struct {
	name string
	src  []byte
}

// resizeSources are a 768 px JPEG photo and a 512 px round PNG with alpha.
func resizeSources() []resizeSource {
	alpha := photo(512, 512)
	for y := range 512 {
		for x := range 512 {
			if (x-256)*(x-256)+(y-256)*(y-256) > 250*250 {
				alpha.Pix[alpha.PixOffset(x, y)+3] = 0 // a round avatar
			}
		}
	}
	return []resizeSource{
		{"jpeg768", testimages.JPEG(photo(768, 768), 95)},
		{"png512alpha", testimages.PNG(alpha)},
	}
}

var outputFormatsMeasured = []Format{JPEG, PNG, WebP, AVIF}

// BenchmarkResize makes an avatar from an avatar-sized source, a 768 px
// JPEG photo and a 512 px PNG with alpha, for every output format.
func BenchmarkResize(b *testing.B) {
	r := New(PoolConfig{Workers: 1})
	for _, s := range resizeSources() {
		for _, format := range outputFormatsMeasured {
			b.Run(fmt.Sprintf("%s/%s/128", s.name, format), func(b *testing.B) {
				var size int
				cpu := cpuTime(b)
				for b.Loop() {
					out, _, err := r.Resize(context.Background(), s.src, Options{Edge: 128, Format: format})
					if err != nil {
						b.Fatal(err)
					}
					size = len(out)
				}
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(size), "out-bytes/op")
			})
		}
	}
}

// facesDir holds the user pictures Debian's gnome-control-center-data
// installs: real avatars, 512 and 96 px JPEGs and PNGs, read at benchmark
// time and never copied into the repository.
const facesDir = "/usr/share/pixmaps/faces"

// faces returns the path of every picture in facesDir, each file once.
func faces(b *testing.B) []string {
	var paths []string
	err := filepath.WalkDir(facesDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, path)
		}
		return err
	})
	if err != nil || len(paths) == 0 {
		b.Skipf("no avatars in %s (apt-get install gnome-control-center-data): %v", facesDir, err)
	}
	slices.Sort(paths)
	return paths
}

// facesCases are the sizes the comparison runs: a list thumbnail and a
// profile picture.
var facesCases = []struct {
	format Format
	edge   int
}{
	{JPEG, 80},
	{WebP, 256},
}

// BenchmarkFaces resizes real avatars, one per op, taking them in turn.
func BenchmarkFaces(b *testing.B) {
	paths := faces(b)
	sources := make([][]byte, len(paths))
	for i, p := range paths {
		var err error
		if sources[i], err = os.ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
	r := New(PoolConfig{Workers: 1})
	for _, c := range facesCases {
		b.Run(fmt.Sprintf("%s/%d", c.format, c.edge), func(b *testing.B) {
			var total, n int
			cpu := cpuTime(b)
			for b.Loop() {
				out, _, err := r.Resize(context.Background(), sources[n%len(sources)], Options{Edge: c.edge, Format: c.format})
				if err != nil {
					b.Fatalf("%s: %v", paths[n%len(paths)], err)
				}
				total += len(out)
				n++
			}
			b.ReportMetric(float64(cpuTime(b)-cpu)/float64(n), "cpu-ns/op")
			b.ReportMetric(float64(total)/float64(n), "out-bytes/op")
		})
	}
}

// BenchmarkFacesVipsthumbnail runs libvips' own vipsthumbnail on the same
// avatars, at the same sizes, crop and quality, for comparison with
// BenchmarkFaces. One op is one avatar. "batch" starts one process for all
// of them, as a server would pay libvips' start-up once; "each" starts one
// process per avatar.
func BenchmarkFacesVipsthumbnail(b *testing.B) {
	tool, err := exec.LookPath("vipsthumbnail")
	if err != nil {
		b.Skip("vipsthumbnail not installed (apt-get install libvips-tools)")
	}
	paths := faces(b)
	for _, c := range facesCases {
		dir := b.TempDir()
		args := []string{
			"-s", fmt.Sprintf("%dx%d", c.edge, c.edge), "-m", "centre",
			"-o", filepath.Join(dir, fmt.Sprintf("%%s.%s[Q=%d,strip]", c.format, DefaultQuality)),
		}
		if c.format == JPEG {
			args[len(args)-1] = filepath.Join(dir, fmt.Sprintf("%%s.jpg[Q=%d,strip,optimize_coding]", DefaultQuality))
		}
		var cpu time.Duration
		run := func(b *testing.B, files []string) {
			cmd := exec.Command(tool, append(slices.Clone(args), files...)...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("vipsthumbnail: %v\n%s", err, out)
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		// The bytes as avatarproxy would serve them: libvips 8.14 writes
		// EXIF into WebP files despite strip.
		report := func(b *testing.B) {
			entries, err := os.ReadDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			var total int
			for _, e := range entries {
				out, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err == nil && c.format == WebP {
					out, err = stripWebP(out)
				}
				if err != nil {
					b.Fatal(err)
				}
				total += len(out)
			}
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(total)/float64(len(entries)), "out-bytes/op")
		}
		name := fmt.Sprintf("%s/%d", c.format, c.edge)
		b.Run("batch/"+name, func(b *testing.B) {
			cpu = 0
			// One op per avatar: run whole batches, then the remainder.
			for done := 0; done < b.N; done += len(paths) {
				run(b, paths[:min(len(paths), b.N-done)])
			}
			report(b)
		})
		b.Run("each/"+name, func(b *testing.B) {
			cpu = 0
			for i := range b.N {
				run(b, paths[i%len(paths):i%len(paths)+1])
			}
			report(b)
		})
	}
}
