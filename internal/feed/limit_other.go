//go:build !unix

package feed

// RaiseFileLimit has no limit to raise here.
func RaiseFileLimit(need int) error { return nil }
