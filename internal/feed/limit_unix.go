//go:build unix

package feed

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit lifts this process's soft limit on open files to its hard limit and checks
// that need files fit under it; the error says the limit and how to raise it (a crowd's
// subscribers each hold one file).
func RaiseFileLimit(need int) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("reading the open-file limit: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return fmt.Errorf("raising the open-file limit to %d: %w", l.Max, err)
		}
	}
	if need > 0 && uint64(need) > l.Cur {
		return fmt.Errorf("%d open files are needed and this process may open %d (its hard limit): "+
			"raise it (as root: ulimit -Hn %d before starting; for a service: LimitNOFILE=%d) or hold fewer connections",
			need, l.Cur, need, need)
	}
	return nil
}
