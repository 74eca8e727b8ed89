// Package watch tells the daemon when its fleet.hcl changed on disk.
//
// It watches the folder that holds the file, never the file itself: editors and config managers
// replace files by rename (vim's backup-and-rename, sed -i, atomic writers) or swap a symlink
// (Kubernetes' ..data, Puppet, Ansible), and a watch on the old inode would go silent. Every
// event in a watched folder restarts a debounce timer; when the folder has been quiet for the
// debounce interval the watcher reads what the path now resolves to and calls back only when
// that content differs from the last content it saw. A folder fleet (-c DIR) is fingerprinted
// as the names and contents of its *.hcl files.
//
// The hot loop is Watcher.Run: one select over fsnotify's channels, the debounce timer and ctx.
package watch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long a folder must be quiet before the watcher looks at the file.
// Editors write a file in several steps (truncate, write, rename, chmod) within a few
// milliseconds; 200 ms folds them into one change without making a save feel slow.
const DefaultDebounce = 200 * time.Millisecond

// Options configures a Watcher. Zero values take the documented defaults.
type Options struct {
	// Debounce: see DefaultDebounce.
	Debounce time.Duration
	// Log receives the watcher's own problems (a folder that cannot be watched). Default: discard.
	Log *slog.Logger
}

// Watcher reports changes of one configuration path: a file, a symlink to a file, or a folder.
// The watch is live from New on; Run must then be called once (it releases the watch when it
// returns), or Close when Run never will be.
type Watcher struct {
	path     string
	debounce time.Duration
	log      *slog.Logger
	fw       *fsnotify.Watcher
	watched  map[string]bool // folders under watch; owned by Run after New
	last     string          // fingerprint of the last content reported or seen at New; owned by Run
}

// New starts watching path and records its current content, so that a change made between
// New and Run is still reported. It fails when the path's folder cannot be watched.
func New(path string, opts Options) (*Watcher, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", path, err)
	}
	w := &Watcher{path: abs, debounce: opts.Debounce, log: opts.Log, watched: map[string]bool{}}
	if w.debounce <= 0 {
		w.debounce = DefaultDebounce
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.fw, err = fsnotify.NewWatcher(); err != nil {
		return nil, fmt.Errorf("watch %s: %w", path, err)
	}
	if err := w.syncDirs(w.fw, w.watched); err != nil {
		w.fw.Close()
		return nil, err
	}
	w.last = Fingerprint(abs)
	return w, nil
}

// Close releases the watch of a Watcher whose Run is never called.
func (w *Watcher) Close() error { return w.fw.Close() }

// Run watches until ctx ends and calls changed, from Run's goroutine, each time the content at
// the path differs from what it was the last time it was looked at (including becoming
// unreadable or readable again). It returns nil when ctx ends.
func (w *Watcher) Run(ctx context.Context, changed func()) error {
	fw, watched := w.fw, w.watched
	defer fw.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-fw.Events:
			if !ok {
				return nil
			}
			// Any event in a watched folder may be the last step of a save; the fingerprint
			// comparison after the quiet period filters out the unrelated ones.
			timer.Reset(w.debounce)
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			// An overflow means events were lost: look at the file as if it changed.
			w.log.Warn("watch_error", "path", w.path, "err", err)
			timer.Reset(w.debounce)
		case <-timer.C:
			if err := w.syncDirs(fw, watched); err != nil {
				w.log.Warn("watch_folder_failed", "path", w.path, "err", err)
			}
			if fp := Fingerprint(w.path); fp != w.last {
				w.last = fp
				changed()
			}
		}
	}
}

// dirs returns the folders to watch: the path's own folder (or the path, for a folder fleet),
// and the folder of every link target on the way to the real file, so a swapped symlink that
// points into another folder (..data/fleet.hcl) is followed there too.
func (w *Watcher) dirs() []string {
	var out []string
	add := func(d string) {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	p := w.path
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		add(p)
	}
	add(filepath.Dir(p))
	for range 16 { // bounded: a symlink loop stops here
		target, err := os.Readlink(p)
		if err != nil {
			break
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = filepath.Clean(target)
		add(filepath.Dir(p))
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			add(p)
		}
	}
	// Intermediate symlinked folders (..data -> ..2026_01_01) resolve here.
	if real, err := filepath.EvalSymlinks(w.path); err == nil {
		add(filepath.Dir(real))
		if st, err := os.Stat(real); err == nil && st.IsDir() {
			add(real)
		}
	}
	return out
}

// syncDirs adds watches for the folders the path now involves and removes those it no longer
// does. The path's own folder must be watchable; the others are best effort.
func (w *Watcher) syncDirs(fw *fsnotify.Watcher, watched map[string]bool) error {
	want := w.dirs()
	for i, d := range want {
		if watched[d] {
			continue
		}
		if err := fw.Add(d); err != nil {
			if i == 0 || d == filepath.Dir(w.path) {
				return fmt.Errorf("watch %s: %w", d, err)
			}
			w.log.Warn("watch_folder_failed", "path", d, "err", err)
			continue
		}
		watched[d] = true
	}
	for d := range watched {
		if !slices.Contains(want, d) {
			_ = fw.Remove(d) // the folder may be gone already
			delete(watched, d)
		}
	}
	return nil
}

// Fingerprint names the content at path: a hash of the file it resolves to, or of the names and
// contents of a folder's *.hcl files, or a description of why it cannot be read. Two calls
// return the same string exactly when nothing a loader would read has changed.
func Fingerprint(path string) string {
	h := sha256.New()
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return "error:" + errKind(err)
	case st.IsDir():
		files, _ := filepath.Glob(filepath.Join(path, "*.hcl"))
		slices.Sort(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintf(h, "%s\x00error:%s\x00", filepath.Base(f), errKind(err))
				continue
			}
			fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(f), len(b))
			h.Write(b)
		}
		return "dir:" + hex.EncodeToString(h.Sum(nil))
	default:
		b, err := os.ReadFile(path)
		if err != nil {
			return "error:" + errKind(err)
		}
		h.Write(b)
		return "file:" + hex.EncodeToString(h.Sum(nil))
	}
}

func errKind(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "not-exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission"
	default:
		return err.Error()
	}
}
