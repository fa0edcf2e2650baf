package scenario

import "sync"

// UserValues keeps a run's scope: user values: for each user, the last value captured under each
// of the program's UserNames, for that user's later arrivals (a login token). Its memory is
// bounded: a direct-mapped table of min(users + bots, MaxUserValues) entries indexed by user id
// modulo its size, each holding at most len(UserNames) values of at most MaxCaptureLen bytes.
// Users 1..N of a population that fits have an entry each; beyond MaxUserValues a user whose
// entry another took finds no value, and its journey ends at the step that needs one (counted as
// skipped). Safe for concurrent use: the live engine's workers share one.
type UserValues struct {
	locks [64]sync.Mutex // entry i is guarded by locks[i%64]
	ents  []userEntry
}

type userEntry struct {
	user int64
	set  uint64 // bit k: a value under UserNames[k]
	vals [][]byte
}

// NewUserValues is an empty table for a run of the program; nil when no capture has scope: user.
func (p *Program) NewUserValues() *UserValues {
	if len(p.UserNames) == 0 {
		return nil
	}
	n := min(p.Population+int64(len(p.Journeys))+1, MaxUserValues)
	return &UserValues{ents: make([]userEntry, n)}
}

func (u *UserValues) at(user int64) (int, *userEntry) {
	i := int(uint64(user) % uint64(len(u.ents)))
	return i, &u.ents[i]
}

// Load appends user's value k onto dst; false when the user kept none.
func (u *UserValues) Load(user int64, k int, dst []byte) ([]byte, bool) {
	i, e := u.at(user)
	mu := &u.locks[i%len(u.locks)]
	mu.Lock()
	defer mu.Unlock()
	if e.user != user || e.set&(1<<k) == 0 {
		return dst, false
	}
	return append(dst, e.vals[k]...), true
}

// Has reports whether user kept a value k (the simulator, whose values have no bytes).
func (u *UserValues) Has(user int64, k int) bool {
	_, ok := u.Load(user, k, nil)
	return ok
}

// Keep keeps val as user's value k, copied (the entry reuses its buffers).
func (u *UserValues) Keep(user int64, k int, val []byte) {
	i, e := u.at(user)
	mu := &u.locks[i%len(u.locks)]
	mu.Lock()
	defer mu.Unlock()
	if e.user != user {
		e.user, e.set = user, 0 // another user's entry: it is evicted
	}
	for len(e.vals) <= k {
		e.vals = append(e.vals, nil)
	}
	e.vals[k] = append(e.vals[k][:0], val...)
	e.set |= 1 << k
}
