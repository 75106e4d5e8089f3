package resize

/*
#cgo pkg-config: vips
#include <malloc.h>
#include <vips/vips.h>
#include <vips/vector.h>

// quiet drops libvips' warnings: they are about hostile or damaged input,
// which the caller already reports as an error or a fallback, and they
// would otherwise reach stderr unstructured, one per bad image.
static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data) {}

static void silence_warnings(void) {
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, quiet, NULL);
}
*/
import "C"

import (
	"sync"

	"github.com/h2non/bimg"
)

// libvips is initialised once per process and cannot be restarted after
// vips_shutdown, so its lifecycle is the one piece of global state here.
var startup sync.Once

// Startup initialises libvips for untrusted input. It is safe to call more
// than once; New calls it too.
//
// libvips keeps no operation cache, since the caller caches results itself,
// loaders libvips does not consider hardened against hostile files (SVG,
// PDF, Matlab, FITS and the like) are blocked, and liborc's vector code is
// off. glibc is held to two malloc arenas: by default it grows one per thread that ever allocated,
// and libvips' worker threads would keep a burst's memory resident for good.
func Startup() {
	startup.Do(func() {
		C.mallopt(C.M_ARENA_MAX, 2)
		bimg.Initialize()
		bimg.VipsCacheSetMax(0)
		bimg.VipsCacheSetMaxMem(0)
		C.vips_block_untrusted_set(C.gboolean(1))
		// liborc's generated code corrupts the heap when resizes run at
		// once (TestConcurrentResizesKeepTheHeapIntact). Without it,
		// libvips uses its C paths, which cost nothing measurable on
		// avatars (BenchmarkFaces within 2%).
		C.vips_vector_set_enabled(C.gboolean(0))
		C.silence_warnings()
	})
}

// Shutdown releases libvips. No resize may run during or after it.
func Shutdown() {
	bimg.Shutdown()
}

// VipsMemory returns the bytes libvips has allocated now for pixels:
// region buffers and images held in memory, its tracked allocations. It
// frees them when a resize ends (no operation cache is kept), so between
// resizes it reads 0. Memory the codec libraries allocate themselves
// (libjpeg, libwebp, libheif and its AV1 encoder) is not counted.
func VipsMemory() int64 {
	return int64(C.vips_tracked_get_mem())
}

// VipsMemoryHighwater returns the most bytes libvips has had allocated at
// once since it started.
func VipsMemoryHighwater() int64 {
	return int64(C.vips_tracked_get_mem_highwater())
}
