package executor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// resolveUser maps a user name or "uid[:gid]" to ids, looking in the
// bundle's /etc/passwd first and then the host's; "nobody" falls back to
// 65534 when neither lists it.
func resolveUser(name, rootfsDir string) (uid, gid uint32, err error) {
	if name == "" {
		return 0, 0, fmt.Errorf("user: empty name")
	}
	if u, g, ok := strings.Cut(name, ":"); true {
		if uu, err := strconv.ParseUint(u, 10, 32); err == nil {
			gg := uu
			if ok {
				if gg, err = strconv.ParseUint(g, 10, 32); err != nil {
					return 0, 0, fmt.Errorf("user %q: bad gid", name)
				}
			}
			return uint32(uu), uint32(gg), nil
		}
	}
	if rootfsDir != "" && bundleFileSafe(rootfsDir, "etc", "passwd") {
		if u, g, ok := lookupPasswd(filepath.Join(rootfsDir, "etc", "passwd"), name); ok {
			return u, g, nil
		}
	}
	if u, g, ok := lookupPasswd("/etc/passwd", name); ok {
		return u, g, nil
	}
	if name == "nobody" {
		return 65534, 65534, nil
	}
	return 0, 0, fmt.Errorf("user %q: not in the bundle's or the host's /etc/passwd", name)
}

func lookupPasswd(file, name string) (uint32, uint32, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 || fields[0] != name {
			continue
		}
		u, err1 := strconv.ParseUint(fields[2], 10, 32)
		g, err2 := strconv.ParseUint(fields[3], 10, 32)
		if err1 == nil && err2 == nil {
			return uint32(u), uint32(g), true
		}
	}
	return 0, 0, false
}

// bundleFileSafe reports whether root/parts... is a regular file reached
// without symlinks, so reading it never follows a bundle's link onto a host file.
func bundleFileSafe(root string, parts ...string) bool {
	p := root
	for i, part := range parts {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			return false
		}
		if i < len(parts)-1 && !fi.IsDir() || i == len(parts)-1 && !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}
