package rootfs

import "fmt"

// Limits bound what one bundle may cost the host. A zero field takes the
// value of DefaultLimits, so no bundle is ever unbounded.
type Limits struct {
	// CompressedBytes bounds the bundle file (the stream that is hashed).
	CompressedBytes int64
	// ExtractedBytes bounds the sum of the regular files' sizes.
	ExtractedBytes int64
	// Entries bounds the number of tar entries, counting the parent
	// directories created for entries the tar does not list.
	Entries int64
	// FileBytes bounds a single regular file.
	FileBytes int64
	// PathBytes bounds an entry's name and link target.
	PathBytes int
	// PathDepth bounds the number of components of an entry's name.
	PathDepth int
}

// DefaultLimits are the bounds a zero Limits field takes.
var DefaultLimits = Limits{
	CompressedBytes: 1 << 30, // 1 GiB
	ExtractedBytes:  4 << 30, // 4 GiB
	Entries:         1_000_000,
	FileBytes:       2 << 30, // 2 GiB
	PathBytes:       4096,    // PATH_MAX
	PathDepth:       128,
}

// DefaultCacheBytes caps a Cache whose CapBytes is zero.
const DefaultCacheBytes int64 = 20 << 30 // 20 GiB

// WithDefaults returns l with every zero (or negative) field set from
// DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.CompressedBytes <= 0 {
		l.CompressedBytes = d.CompressedBytes
	}
	if l.ExtractedBytes <= 0 {
		l.ExtractedBytes = d.ExtractedBytes
	}
	if l.Entries <= 0 {
		l.Entries = d.Entries
	}
	if l.FileBytes <= 0 {
		l.FileBytes = d.FileBytes
	}
	if l.PathBytes <= 0 {
		l.PathBytes = d.PathBytes
	}
	if l.PathDepth <= 0 {
		l.PathDepth = d.PathDepth
	}
	return l
}

// The limits a LimitError can name.
const (
	LimitCompressedBytes = "compressed size"
	LimitExtractedBytes  = "extracted size"
	LimitEntries         = "number of entries"
	LimitFileBytes       = "file size"
	LimitPathBytes       = "path length"
	LimitPathDepth       = "path depth"
	// LimitCacheBytes: the bundle alone would exceed the cache's cap.
	LimitCacheBytes = "cache size"
)

// LimitError says a bundle went over one of its limits; nothing of it is
// kept.
type LimitError struct {
	Limit string // one of the Limit* names
	Max   int64
	Entry string // the tar entry that crossed it ("" for the compressed stream)
}

func (e *LimitError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("bundle exceeds the %s limit of %d", e.Limit, e.Max)
	}
	return fmt.Sprintf("bundle exceeds the %s limit of %d at entry %q", e.Limit, e.Max, e.Entry)
}
