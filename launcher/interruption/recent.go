package interruption

import (
	"sync"

	"k8s.io/utils/lru"
)

// recentEvents is how many event ids are remembered.
const recentEvents = 4096

// recent remembers the ids of the events being or lately handled, so that a
// copy SQS delivers again, or one that arrives in the same batch, is only
// deleted. Handling is idempotent without it; it saves API calls and keeps
// events from being recorded twice.
type recent struct {
	mu  sync.Mutex
	ids *lru.Cache
}

func newRecent() *recent {
	return &recent{ids: lru.New(recentEvents)}
}

// claim reports whether id is new, and remembers it. Events without an id
// are always new.
func (r *recent) claim(id string) bool {
	if id == "" {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ids.Get(id); ok {
		return false
	}
	r.ids.Add(id, struct{}{})
	return true
}

// release forgets id, whose handling failed: its next delivery is handled.
func (r *recent) release(id string) {
	if id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids.Remove(id)
}
