package resize

import (
	"context"
	"fmt"
	"testing"
)

// TestResizeAllocations holds the Go allocations of a resize, for each
// source and output format of BenchmarkResize: the output's copy out of
// libvips, the checks of the source and of the output, and the error-free
// path's bookkeeping. libvips' own memory is C memory and not counted.
// The counts are deterministic for a Go release.
func TestResizeAllocations(t *testing.T) {
	want := map[string]float64{
		"jpeg768/jpeg": 12, "jpeg768/png": 13, "jpeg768/webp": 17, "jpeg768/avif": 18,
		"png512alpha/jpeg": 13, "png512alpha/png": 14, "png512alpha/webp": 18, "png512alpha/avif": 25,
	}
	r := New(PoolConfig{Workers: 1})
	for _, s := range resizeSources() {
		for _, format := range outputFormatsMeasured {
			name := fmt.Sprintf("%s/%s", s.name, format)
			got := testing.AllocsPerRun(3, func() {
				if _, _, err := r.Resize(context.Background(), s.src, Options{Edge: 128, Format: format}); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			})
			if got != want[name] {
				t.Errorf("%s: %v allocations per resize, want %v", name, got, want[name])
			}
		}
	}
}
