// Package boxcache downloads Vagrant boxes (file://, http:// or https://), verifies their
// checksum, unpacks them and keeps them by name and version under the agent's state
// directory, so each version is downloaded once. It implements reconcile.BoxStore.
//
// Layout: DIR/<name>/<version>/ holds the unpacked box (box.ovf, disks, metadata.json) and a
// ".complete" mark written last; a folder without the mark is debris of an interrupted fetch
// and is replaced by the next one. Downloads land in DIR/.tmp-* first.
package boxcache

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"

	"github.com/fleet-agent/fleet/reconcile"
)

// ErrChecksum is matched by a download whose checksum differs from the declared one.
var ErrChecksum = errors.New("box checksum mismatch")

const completeMark = ".complete"

// Cache is the box cache in Dir. It is safe for concurrent use; fetches run one at a time.
type Cache struct {
	// Dir is the cache folder, normally <state_dir>/boxes. Created on first use.
	Dir string
	// Client downloads http(s) boxes; nil means http.DefaultClient.
	Client *http.Client
	// Progress, when set, receives a progress bar per download; set it to a terminal only.
	Progress io.Writer

	mu sync.Mutex // serialises Fetch and Remove
}

var _ reconcile.BoxStore = (*Cache)(nil)

// Path returns the folder of a cached box version.
func (c *Cache) Path(name, version string) string { return filepath.Join(c.Dir, name, version) }

// List returns the complete box versions in the cache.
func (c *Cache) List() ([]reconcile.BoxKey, error) {
	marks, err := filepath.Glob(filepath.Join(c.Dir, "*", "*", completeMark))
	if err != nil {
		return nil, fmt.Errorf("list boxes: %w", err)
	}
	var out []reconcile.BoxKey
	for _, m := range marks {
		ver := filepath.Dir(m)
		out = append(out, reconcile.BoxKey{Name: filepath.Base(filepath.Dir(ver)), Version: filepath.Base(ver)})
	}
	return out, nil
}

// Remove deletes a cached box version.
func (c *Cache) Remove(name, version string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.RemoveAll(c.Path(name, version)); err != nil {
		return fmt.Errorf("remove box %s %s: %w", name, version, err)
	}
	return nil
}

// Fetch returns the folder of the box, downloading, verifying and unpacking it first unless
// it is cached. Network failures and server errors are reconcile.Transient; a checksum
// mismatch matches ErrChecksum and is not.
func (c *Cache) Fetch(ctx context.Context, b reconcile.BoxSpec) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dst := c.Path(b.Name, b.Version)
	if _, err := os.Stat(filepath.Join(dst, completeMark)); err == nil {
		return dst, nil
	}
	if b.Spec == nil {
		return "", fmt.Errorf("fetch box %s %s: no url declared", b.Name, b.Version)
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", fmt.Errorf("fetch box %s: %w", b.Name, err)
	}
	archive, err := os.CreateTemp(c.Dir, ".tmp-"+b.Name+"-*.box")
	if err != nil {
		return "", fmt.Errorf("fetch box %s: %w", b.Name, err)
	}
	defer os.Remove(archive.Name())
	defer archive.Close()
	if err := c.download(ctx, b, archive); err != nil {
		return "", fmt.Errorf("fetch box %s %s: %w", b.Name, b.Version, err)
	}
	tmp, err := os.MkdirTemp(c.Dir, ".tmp-"+b.Name+"-unpack-")
	if err != nil {
		return "", fmt.Errorf("fetch box %s: %w", b.Name, err)
	}
	defer os.RemoveAll(tmp)
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("fetch box %s: %w", b.Name, err)
	}
	if err := unpack(archive, tmp); err != nil {
		return "", fmt.Errorf("unpack box %s %s: %w", b.Name, b.Version, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, completeMark), []byte(b.Spec.Checksum+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("fetch box %s: %w", b.Name, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("fetch box %s: %w", b.Name, err)
	}
	if err := os.RemoveAll(dst); err != nil {
		return "", fmt.Errorf("fetch box %s: %w", b.Name, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("fetch box %s: %w", b.Name, err)
	}
	return dst, nil
}

// download copies the box's URL into w, checking the declared checksum on the way.
func (c *Cache) download(ctx context.Context, b reconcile.BoxSpec, w io.Writer) error {
	h, want, err := ParseChecksum(b.Spec.Checksum)
	if err != nil {
		return err
	}
	u, err := url.Parse(b.Spec.URL)
	if err != nil {
		return fmt.Errorf("url %q: %w", b.Spec.URL, err)
	}
	var body io.Reader
	var size int64 = -1
	switch u.Scheme {
	case "file":
		p := u.Path
		if p == "" {
			p = u.Opaque
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		body = f
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		client := c.Client
		if client == nil {
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			return reconcile.Transient(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err := fmt.Errorf("GET %s: %s", u.Redacted(), resp.Status)
			if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
				return reconcile.Transient(err)
			}
			return err
		}
		size = resp.ContentLength
		body = resp.Body
	default:
		return fmt.Errorf("url %q: scheme %q not supported", b.Spec.URL, u.Scheme)
	}
	out := io.Writer(w)
	if h != nil {
		out = io.MultiWriter(w, h)
	}
	if c.Progress != nil {
		bar := progressbar.DefaultBytes(size, "downloading "+b.Name+" "+b.Version)
		progressbar.OptionSetWriter(c.Progress)(bar)
		out = io.MultiWriter(out, bar)
		defer bar.Finish()
	}
	if _, err := io.Copy(out, &ctxReader{ctx: ctx, r: body}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return reconcile.Transient(err)
	}
	if h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			return fmt.Errorf("%w: got %s, want %s", ErrChecksum, got, want)
		}
	}
	return nil
}

// ParseChecksum parses "sha256:<hex>" (or sha1, sha512) into a fresh hash and the expected
// lower-case hex digest. An empty string means no verification (nil hash).
func ParseChecksum(s string) (hash.Hash, string, error) {
	if s == "" {
		return nil, "", nil
	}
	algo, sum, ok := strings.Cut(s, ":")
	if !ok {
		return nil, "", fmt.Errorf("checksum %q: want <algorithm>:<hex>", s)
	}
	var h hash.Hash
	switch strings.ToLower(algo) {
	case "sha256":
		h = sha256.New()
	case "sha1":
		h = sha1.New()
	case "sha512":
		h = sha512.New()
	default:
		return nil, "", fmt.Errorf("checksum %q: algorithm %q not supported", s, algo)
	}
	sum = strings.ToLower(sum)
	if _, err := hex.DecodeString(sum); err != nil || len(sum) != 2*h.Size() {
		return nil, "", fmt.Errorf("checksum %q: want %d hex digits", s, 2*h.Size())
	}
	return h, sum, nil
}

// unpack extracts a Vagrant box (a tar, optionally gzip-compressed) into dir. Entries that
// would land outside dir, links and devices are refused.
func unpack(r io.Reader, dir string) error {
	br := bufio.NewReader(r)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer gz.Close()
		in = gz
	}
	tr := tar.NewReader(in)
	files := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(hdr.Name))
		if name == "." {
			continue
		}
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("entry %q escapes the box", hdr.Name)
		}
		p := filepath.Join(dir, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, os.FileMode(hdr.Mode)&0o755|0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			files++
		default:
			return fmt.Errorf("entry %q: type %q not supported", hdr.Name, hdr.Typeflag)
		}
	}
	if files == 0 {
		return errors.New("empty box")
	}
	return nil
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
