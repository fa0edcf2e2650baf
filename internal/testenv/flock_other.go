//go:build !unix

package testenv

import "os"

// flock is a no-op where there is no flock(2): tests of several packages that share the
// cluster may then disturb each other.
func flock(*os.File, bool) error { return nil }
