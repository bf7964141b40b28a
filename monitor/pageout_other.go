//go:build !linux

package monitor

// releaseStartupPages is a no-op where MADV_PAGEOUT does not exist.
func releaseStartupPages() int { return 0 }
