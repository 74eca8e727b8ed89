// Package imagebuild makes the tiny Linux guest the QEMU provider's tests boot (see
// ../shared/QEMU-SPIKE.md): a Debian cloud kernel fetched with `apt-get download`, a rootfs of
// busybox-static and dropbear with the libraries ldd lists, the virtio modules the kernel
// needs, three boot scripts, and the users of a Vagrant base box (root and vagrant, both with
// the password "vagrant", which dropbear accepts until the golden hardening turns it off).
// The same tree becomes the initramfs and an ext4 disk turned into base.qcow2, so `root=/dev/vda` boots from the disk and rollback tests see real files.
//
// Builds are cached under a key covering every input (the kernel package's bytes, busybox,
// dropbear and its libraries, the scripts, extra files, qemu-img's version and this
// package's format number), so a second build is a directory lookup. Concurrent builds (test
// binaries of several packages) serialise on a file lock in the cache folder.
//
// This file holds the options, the cache and the result; rootfs.go assembles the tree and
// kernel.go fetches the kernel and its modules.
package imagebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// format is hashed into every cache key; bump it when the image layout changes.
const format = 6

// Cmdline is the kernel command line that boots the image from its disk.
const Cmdline = "console=ttyS0 quiet root=/dev/vda"

// Tools lists the host programs Build runs; scripts/qemu-deps.sh installs them.
var Tools = []string{"apt-get", "apt-cache", "dpkg-deb", "depmod", "modprobe", "cpio", "gzip", "mke2fs", "debugfs", "qemu-img", "dropbearkey"}

// Password is the password of root and VagrantUser in the image, as Vagrant's base-box guide
// asks of every box; dropbear takes it until the golden hardening turns passwords off.
const Password = "vagrant"

// VagrantUser is the image's unprivileged user, a Vagrant base box's build user (it has
// Password; the agent logs in as root with the image's key).
const VagrantUser = "vagrant"

// File is an extra file put into the guest.
type File struct {
	// Src is the host file copied.
	Src string
	// Mode is the guest file's mode; zero means 0755.
	Mode os.FileMode
}

// Options configure Build. The zero value builds the spike's image in the default cache.
type Options struct {
	// CacheDir holds built images and downloaded kernels. Default: $XDG_CACHE_HOME/fleet-qemu
	// when XDG_CACHE_HOME is set, else /var/tmp/fleet-qemu-cache.
	CacheDir string
	// KernelPackage is the Debian package whose kernel is used; a metapackage is resolved to
	// the image package it depends on. Default "linux-image-cloud-amd64".
	KernelPackage string
	// Extra maps absolute guest paths to host files copied into the rootfs (e.g. a static
	// chef-solo stand-in at /usr/bin/chef-solo).
	Extra map[string]File
	// Log receives one line per build step; nil discards.
	Log io.Writer
}

// Image is a built guest. Every path is inside the cache and must not be modified.
type Image struct {
	// Dir is the folder holding the files below.
	Dir string
	// Key is the cache key (hex sha256 of every input).
	Key string
	// Kernel, Initrd and Disk are the vmlinuz, the gzip cpio initramfs and the qcow2 root disk.
	Kernel, Initrd, Disk string
	// Cmdline boots from Disk (Cmdline).
	Cmdline string
	// PrivateKey is the OpenSSH private key root's authorized_keys accepts.
	PrivateKey string
	// User is the SSH user, "root".
	User string
	// Password is what root and VagrantUser log in with before hardening (Password).
	Password string
	// KernelRelease is the kernel's `uname -r`.
	KernelRelease string
}

// Names of the files in an image folder.
const (
	KernelFile = "vmlinuz"
	InitrdFile = "initrd.img"
	DiskFile   = "box.qcow2"
	KeyFile    = "id_ed25519"
	metaFile   = "image.json"
	doneMark   = ".complete"
)

func (o *Options) defaults() {
	if o.CacheDir == "" {
		if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
			o.CacheDir = filepath.Join(x, "fleet-qemu")
		} else {
			o.CacheDir = "/var/tmp/fleet-qemu-cache"
		}
	}
	if o.KernelPackage == "" {
		o.KernelPackage = "linux-image-cloud-amd64"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Missing returns the host programs of Tools that are not in PATH.
func Missing() []string {
	var out []string
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			out = append(out, t)
		}
	}
	return out
}

// Build returns the cached image for opts, building it first when the cache lacks it.
func Build(ctx context.Context, opts Options) (*Image, error) {
	opts.defaults()
	if m := Missing(); len(m) > 0 {
		return nil, fmt.Errorf("build guest image: missing host tools %s (run scripts/qemu-deps.sh)", strings.Join(m, ", "))
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("build guest image: %w", err)
	}
	lock := flock.New(filepath.Join(opts.CacheDir, ".lock"))
	if ok, err := lock.TryLockContext(ctx, 50*time.Millisecond); err != nil || !ok {
		return nil, fmt.Errorf("build guest image: lock cache: %w", errors.Join(err, ctx.Err()))
	}
	defer lock.Unlock()

	deb, err := fetchKernel(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("build guest image: %w", err)
	}
	in, err := collectInputs(ctx, opts, deb)
	if err != nil {
		return nil, fmt.Errorf("build guest image: %w", err)
	}
	key := in.key()
	dir := filepath.Join(opts.CacheDir, "image-"+key[:16])
	if img, err := load(dir); err == nil {
		return img, nil
	}
	fmt.Fprintf(opts.Log, "imagebuild: building %s\n", dir)
	tmp, err := os.MkdirTemp(opts.CacheDir, ".build-")
	if err != nil {
		return nil, fmt.Errorf("build guest image: %w", err)
	}
	defer os.RemoveAll(tmp)
	img, err := build(ctx, opts, in, tmp)
	if err != nil {
		return nil, fmt.Errorf("build guest image: %w", err)
	}
	img.Key = key
	out := filepath.Join(tmp, "out")
	if err := writeJSON(filepath.Join(out, metaFile), img); err != nil {
		return nil, fmt.Errorf("build guest image: %w", err)
	}
	if err := os.WriteFile(filepath.Join(out, doneMark), nil, 0o644); err != nil {
		return nil, fmt.Errorf("build guest image: %w", err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(out, dir); err != nil {
		return nil, fmt.Errorf("build guest image: %w", err)
	}
	return load(dir)
}

// load reads a complete image folder.
func load(dir string) (*Image, error) {
	if _, err := os.Stat(filepath.Join(dir, doneMark)); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, err
	}
	var img Image
	if err := json.Unmarshal(b, &img); err != nil {
		return nil, err
	}
	img.Dir = dir
	img.Kernel = filepath.Join(dir, KernelFile)
	img.Initrd = filepath.Join(dir, InitrdFile)
	img.Disk = filepath.Join(dir, DiskFile)
	img.PrivateKey = filepath.Join(dir, KeyFile)
	return &img, nil
}

// inputs are everything an image is made of, hashed into its cache key.
type inputs struct {
	Format     int               `json:"format"`
	KernelDeb  string            `json:"kernel_deb"` // sha256 of the .deb
	debPath    string            // not hashed: the bytes are
	Busybox    string            `json:"busybox"`
	Dropbear   string            `json:"dropbear"`
	Libs       map[string]string `json:"libs"` // guest path -> sha256
	Extra      map[string]string `json:"extra"`
	Scripts    string            `json:"scripts"`
	QemuImg    string            `json:"qemu_img"`
	Modules    []string          `json:"modules"`
	busyboxBin string
	libPaths   []string
}

func (in *inputs) key() string {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// collectInputs hashes every input of the build.
func collectInputs(ctx context.Context, opts Options, deb string) (*inputs, error) {
	in := &inputs{Format: format, debPath: deb, Libs: map[string]string{}, Extra: map[string]string{}, Modules: modules}
	var err error
	if in.KernelDeb, err = fileHash(deb); err != nil {
		return nil, err
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		bb = "/bin/busybox"
	}
	in.busyboxBin = bb
	if in.Busybox, err = fileHash(bb); err != nil {
		return nil, fmt.Errorf("busybox-static: %w", err)
	}
	if in.Dropbear, err = fileHash(dropbearBin); err != nil {
		return nil, fmt.Errorf("dropbear: %w", err)
	}
	libs, err := lddPaths(ctx, dropbearBin)
	if err != nil {
		return nil, err
	}
	in.libPaths = libs
	for _, l := range libs {
		if in.Libs[l], err = fileHash(l); err != nil {
			return nil, err
		}
	}
	paths := make([]string, 0, len(opts.Extra))
	for p := range opts.Extra {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		f := opts.Extra[p]
		h, err := fileHash(f.Src)
		if err != nil {
			return nil, fmt.Errorf("extra file %s: %w", p, err)
		}
		in.Extra[p] = fmt.Sprintf("%s %o", h, f.Mode)
	}
	sum := sha256.Sum256([]byte(initScript + inittab + rcScript + sudoScript + gitScript + Cmdline + VagrantUser + ":" + Password))
	in.Scripts = hex.EncodeToString(sum[:])
	v, err := exec.CommandContext(ctx, "qemu-img", "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("qemu-img --version: %w", err)
	}
	in.QemuImg = strings.SplitN(string(v), "\n", 2)[0]
	return in, nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// run runs a host command, returning its stderr in the error.
func run(ctx context.Context, dir string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
