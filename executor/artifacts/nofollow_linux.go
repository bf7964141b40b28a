package artifacts

import (
	"os"
	"syscall"
)

// noFollow makes an open of a symbolic link fail instead of following it.
const noFollow = syscall.O_NOFOLLOW

// readFlags opens a file of the sandbox for reading: never through a link,
// and never blocking (a file swapped for a FIFO after its Lstat cannot hang
// the open; the Stat of the open file decides).
const readFlags = os.O_RDONLY | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
