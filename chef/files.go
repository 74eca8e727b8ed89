// This file lists the files of a cookbook that count: the ones bundled for the guest and hashed
// into the fingerprint. Version-control folders, editor backups and OS litter are left out, so
// opening a recipe in vim or browsing the folder in Finder does not rebuild a golden image.

package chef

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// ignoredDirs are folder names never bundled or hashed.
var ignoredDirs = map[string]bool{
	".git": true, ".svn": true, ".hg": true, ".bzr": true, "CVS": true,
	".idea": true, ".vscode": true, ".kitchen": true, ".bundle": true,
}

// ignoredFiles are file names never bundled or hashed.
var ignoredFiles = map[string]bool{
	".DS_Store": true, "Thumbs.db": true, "desktop.ini": true, ".gitignore": true,
	".gitattributes": true, ".gitmodules": true, "Icon\r": true,
}

// ignored reports whether a file name is litter: editor backups and swap files (`x~`,
// `.x.swp`, `#x#`, `.#x`, `x.orig`, `x.rej`), AppleDouble files (`._x`) and the names above.
func ignored(name string) bool {
	switch {
	case ignoredFiles[name],
		strings.HasSuffix(name, "~"),
		strings.HasPrefix(name, "._"),
		strings.HasPrefix(name, ".#"),
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"),
		strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".swp") || strings.HasSuffix(name, ".swo") || strings.HasSuffix(name, ".swx")),
		strings.HasSuffix(name, ".orig"), strings.HasSuffix(name, ".rej"), strings.HasSuffix(name, ".bak"):
		return true
	}
	return false
}

// listFiles returns the slash-separated paths, relative to dir, of the regular files and
// symlinks under dir that are not ignored, sorted bytewise.
func listFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && ignoredDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if ignored(d.Name()) {
			return nil
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil // sockets, fifos, devices: nothing a cookbook ships
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list files of %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}
