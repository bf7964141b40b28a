package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// DigestPrefix starts every bundle digest: "sha256:<64 hex digits>".
const DigestPrefix = "sha256:"

// ParseDigest checks a "sha256:<hex>" digest and returns its hex part.
func ParseDigest(d string) (string, error) {
	if !strings.HasPrefix(d, DigestPrefix) {
		return "", fmt.Errorf("digest %q: want sha256:<hex>", d)
	}
	h := strings.TrimPrefix(d, DigestPrefix)
	if len(h) != sha256.Size*2 {
		return "", fmt.Errorf("digest %q: want %d hex digits, got %d", d, sha256.Size*2, len(h))
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("digest %q: %w", d, err)
	}
	if strings.ToLower(h) != h {
		return "", fmt.Errorf("digest %q: hex digits must be lower case", d)
	}
	return h, nil
}

// ContentName is the content-addressed file name of a bundle with digest d:
// sha256-<hex>.tar.gz.
func ContentName(d string) (string, error) {
	h, err := ParseDigest(d)
	if err != nil {
		return "", err
	}
	return "sha256-" + h + ".tar.gz", nil
}

// FileDigest returns the "sha256:<hex>" digest and size of a file.
func FileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return DigestPrefix + hex.EncodeToString(h.Sum(nil)), n, nil
}

// VerifyFile checks that the file at path has digest want.
func VerifyFile(path, want string) error {
	if _, err := ParseDigest(want); err != nil {
		return err
	}
	got, _, err := FileDigest(path)
	if err != nil {
		return err
	}
	if got != want {
		return &DigestMismatchError{Want: want, Got: got}
	}
	return nil
}

// DigestMismatchError says a bundle's bytes do not match the expected digest.
type DigestMismatchError struct{ Want, Got string }

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("bundle digest mismatch: want %s, got %s", e.Want, e.Got)
}
