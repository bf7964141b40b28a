package rootfs_test

import (
	"bytes"
	"compress/gzip"
	"io"
)

func gunzip(b []byte) (io.Reader, error) { return gzip.NewReader(bytes.NewReader(b)) }
