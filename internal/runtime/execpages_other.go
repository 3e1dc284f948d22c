//go:build !linux

package runtime

// dropExecPages does nothing outside Linux: taking the executable's
// pages out of RSS reads /proc/self/smaps (see execpages_linux.go).
func dropExecPages() (uint64, error) { return 0, nil }
