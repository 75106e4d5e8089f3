package resize

import (
	"context"
	"sync"
	"testing"

	"github.com/avatarproxy/avatarproxy/internal/testimages"
)

// Resizes running at once must not corrupt libvips' heap. With liborc's
// vector code on, this crashed the process with "malloc(): unaligned
// fastbin chunk detected" or a SIGSEGV in generated code within seconds.
func TestConcurrentResizesKeepTheHeapIntact(t *testing.T) {
	src := testimages.SeededPNG("concurrent", 96, 96)
	r := New(PoolConfig{Workers: 2})
	const perWorker = 5000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				format := []Format{JPEG, PNG}[(i+w)%2]
				if _, _, err := r.Resize(context.Background(), src, Options{Edge: 80, Format: format}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
