package artifacts

import "syscall"

// noFollow makes an open of a symbolic link fail instead of following it.
const noFollow = syscall.O_NOFOLLOW
