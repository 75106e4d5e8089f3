package proxy

import (
	"sync"
	"time"
)

// Webhook deliveries whose provider signs their time and identity are
// accepted only while fresh, and only once.
const (
	// webhookMaxAge is how old a signed delivery may be; webhookMaxSkew
	// how far in the future its time may lie, for clocks that disagree.
	webhookMaxAge  = 5 * time.Minute
	webhookMaxSkew = time.Minute
	// deliveryMemoryBytes bounds the remembered delivery ids.
	deliveryMemoryBytes = 1 << 20
	// deliveryOverhead is what one remembered id costs besides its bytes:
	// the map entry and the queue slot.
	deliveryOverhead = 96
)

// deliveryMemory remembers the ids of recent signed deliveries, so that a
// delivery captured and sent again within the freshness window is refused.
// Ids are forgotten once older than the window, when a delivery carrying
// them would be refused as stale anyway; under a flood the oldest go first
// to keep within the byte bound. Only authenticated deliveries are
// remembered, so filling it takes the webhook secret.
type deliveryMemory struct {
	mu    sync.Mutex
	seen  map[string]time.Time // key: upstream and id; value: when it expires
	order []string             // keys, oldest first
	bytes int
	limit int
}

func newDeliveryMemory(limit int) *deliveryMemory {
	return &deliveryMemory{seen: map[string]time.Time{}, limit: limit}
}

// firstSeen records id of upstream and reports whether it was new.
func (m *deliveryMemory) firstSeen(upstream, id string, now time.Time) bool {
	key := upstream + "\x00" + id
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.order) > 0 && (m.bytes > m.limit || !now.Before(m.seen[m.order[0]])) {
		m.forgetOldest()
	}
	if expires, ok := m.seen[key]; ok && now.Before(expires) {
		return false
	}
	m.seen[key] = now.Add(webhookMaxAge + webhookMaxSkew)
	m.order = append(m.order, key)
	m.bytes += len(key) + deliveryOverhead
	for m.bytes > m.limit && len(m.order) > 1 {
		m.forgetOldest()
	}
	return true
}

func (m *deliveryMemory) forgetOldest() {
	key := m.order[0]
	m.order[0] = ""
	m.order = m.order[1:]
	delete(m.seen, key)
	m.bytes -= len(key) + deliveryOverhead
}
