package rootfs_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"strconv"
)

func gunzip(b []byte) (io.Reader, error) { return gzip.NewReader(bytes.NewReader(b)) }

func fmtInt(n int) string { return strconv.Itoa(n) }
