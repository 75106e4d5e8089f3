package proxy

import (
	"strconv"
	"sync"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/avatarproxy/avatarproxy/metrics"
)

// This file holds what lets a cache hit allocate nothing: keys built in
// lent buffers, and the lookup counters resolved once.

// keyBuffer builds a cache key in bytes it reuses.
type keyBuffer struct{ b []byte }

// appendUser appends the user's key, as userKey makes it.
func (k *keyBuffer) appendUser(req *avatarRequest) {
	k.b = append(k.b, req.upstream.name...)
	k.b = append(k.b, 0)
	k.b = append(k.b, req.userID...)
}

// appendGen appends the generation after the user's key: the two are the
// original's key, and the start of every variant key.
func (k *keyBuffer) appendGen(gen uint64) {
	k.b = append(k.b, 0)
	k.b = strconv.AppendUint(k.b, gen, 10)
}

// appendRender appends the rest of the variant key after the generation:
// edge, format, crop and d, each after a NUL.
func (k *keyBuffer) appendRender(req *avatarRequest) {
	k.b = append(k.b, 0)
	k.b = strconv.AppendInt(k.b, int64(req.edge), 10)
	k.b = append(k.b, 0)
	k.b = append(k.b, req.format...)
	k.b = append(k.b, 0)
	k.b = append(k.b, req.crop...)
	k.b = append(k.b, 0)
	k.b = append(k.b, req.whenMissing...)
}

// originalKey is the original key of req's user under gen, as a string of
// its own.
func originalKey(req *avatarRequest, gen uint64) string {
	var k keyBuffer
	k.appendUser(req)
	k.appendGen(gen)
	return string(k.b)
}

// variantKey is the variant key of req under gen, as a string of its own.
// These and keyBuffer are the only places keys are made.
func variantKey(req *avatarRequest, gen uint64) string {
	var k keyBuffer
	k.appendUser(req)
	k.appendGen(gen)
	k.appendRender(req)
	return string(k.b)
}

// view is the key built so far, sharing the buffer's bytes: it is only
// for lookups that do not keep their key (ristretto keeps a key's hashes,
// a map lookup nothing), and is void once the buffer is returned. Whatever
// stores a key gets a copy.
func (k *keyBuffer) view() string { return unsafe.String(unsafe.SliceData(k.b), len(k.b)) }

// keyBuffers lends keyBuffers, so that building a key allocates nothing.
type keyBuffers struct{ pool *sync.Pool }

// maxPooledKey is the largest buffer kept for reuse; a key from a very
// long user id is built once and dropped.
const maxPooledKey = 1024

func newKeyBuffers() keyBuffers {
	return keyBuffers{pool: &sync.Pool{New: func() any { return &keyBuffer{b: make([]byte, 0, 128)} }}}
}

func (p keyBuffers) get() *keyBuffer { return p.pool.Get().(*keyBuffer) }

func (p keyBuffers) put(k *keyBuffer) {
	if cap(k.b) > maxPooledKey {
		return
	}
	k.b = k.b[:0]
	p.pool.Put(k)
}

// tierLookups counts a tier's hits and misses with children resolved once.
type tierLookups struct{ hits, misses prometheus.Counter }

func newTierLookups(m *metrics.Metrics, tier string) tierLookups {
	return tierLookups{hits: m.CacheHits.WithLabelValues(tier), misses: m.CacheMisses.WithLabelValues(tier)}
}

func (t tierLookups) count(hit bool) {
	if hit {
		t.hits.Inc()
	} else {
		t.misses.Inc()
	}
}
