package fakeprovider

import "sync"

// userTable is a fake's users by id, behind the fake's own lock: the
// methods ending in Locked expect it held, the others take it.
type userTable[U any] struct {
	mu   *sync.Mutex
	byID map[string]*U
}

func newUserTable[U any](mu *sync.Mutex) userTable[U] {
	return userTable[U]{mu: mu, byID: make(map[string]*U)}
}

// findLocked returns the user of id.
func (t userTable[U]) findLocked(id string) (*U, bool) {
	u := t.byID[id]
	return u, u != nil
}

// findOrAddLocked returns the user of id, adding the one newUser makes
// when there is none.
func (t userTable[U]) findOrAddLocked(id string, newUser func() *U) *U {
	u := t.byID[id]
	if u == nil {
		u = newUser()
		t.byID[id] = u
	}
	return u
}

// image returns the image that read finds on the user of id; false when
// there is no such user or read finds none.
func (t userTable[U]) image(id string, read func(*U) []byte) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.byID[id]
	if u == nil || read(u) == nil {
		return nil, false
	}
	return read(u), true
}
