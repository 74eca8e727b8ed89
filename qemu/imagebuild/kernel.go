// The kernel: resolve the Debian kernel package, download it once into the cache with
// `apt-get download`, unpack it, and list the virtio modules in load order. The cloud kernel
// builds virtio as modules (QEMU-SPIKE.md §1), so /init must insmod them before it sees eth0
// and /dev/vda.

package imagebuild

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// modules are the drivers the guest needs; modprobe --show-depends adds their dependencies.
var modules = []string{"virtio_pci", "virtio_net", "virtio_blk", "virtio-rng"}

// fetchKernel returns the path of the kernel image .deb in the cache, downloading it when
// missing.
func fetchKernel(ctx context.Context, opts Options) (string, error) {
	pkg, err := resolveKernel(ctx, opts.KernelPackage)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(opts.CacheDir, "debs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb")); len(m) > 0 {
		return m[len(m)-1], nil
	}
	fmt.Fprintf(opts.Log, "imagebuild: apt-get download %s\n", pkg)
	if err := run(ctx, dir, "apt-get", "download", pkg); err != nil {
		return "", fmt.Errorf("download kernel (run apt-get update first): %w", err)
	}
	m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(m) == 0 {
		return "", fmt.Errorf("download kernel: no %s .deb in %s", pkg, dir)
	}
	return m[len(m)-1], nil
}

// resolveKernel follows a metapackage such as linux-image-cloud-amd64 to the versioned image
// package it depends on; a versioned name is returned as is.
func resolveKernel(ctx context.Context, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", pkg).Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s: %w", pkg, err)
	}
	if dep := parseDepends(out); dep != "" {
		return dep, nil
	}
	if strings.Count(pkg, "-") >= 4 && pkg != "linux-image-cloud-amd64" {
		return pkg, nil
	}
	return "", fmt.Errorf("kernel package %s: no linux-image dependency (run apt-get update)", pkg)
}

// parseDepends returns the first linux-image-* package `apt-cache depends` lists, or "".
func parseDepends(out []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		dep, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Depends: ")
		dep = strings.Trim(dep, "<>")
		if ok && strings.HasPrefix(dep, "linux-image-") && !strings.HasSuffix(dep, "-unsigned") && !strings.ContainsAny(dep, " /") {
			return dep
		}
	}
	return ""
}

// kernel is an unpacked kernel package.
type kernel struct {
	Release string
	Vmlinuz string
	// Modules are the .ko files to load, in order.
	Modules []string
}

// unpackKernel extracts the .deb into dir and finds the kernel and the module load order.
func unpackKernel(ctx context.Context, deb, dir string) (*kernel, error) {
	if err := run(ctx, "", "dpkg-deb", "-x", deb, dir); err != nil {
		return nil, err
	}
	vm, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(vm) != 1 {
		return nil, fmt.Errorf("kernel package %s: want one boot/vmlinuz-*, found %d", deb, len(vm))
	}
	k := &kernel{Vmlinuz: vm[0], Release: strings.TrimPrefix(filepath.Base(vm[0]), "vmlinuz-")}
	if err := run(ctx, "", "depmod", "-b", dir, k.Release); err != nil {
		return nil, err
	}
	args := append([]string{"-d", dir, "-S", k.Release, "--show-depends", "-a"}, modules...)
	out, err := exec.CommandContext(ctx, "modprobe", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("modprobe --show-depends: %w", err)
	}
	k.Modules = parseShowDepends(out)
	if len(k.Modules) == 0 {
		return nil, fmt.Errorf("kernel %s: no modules for %v (virtio built in?)", k.Release, modules)
	}
	return k, nil
}

// lddPaths lists the shared libraries (and the loader) ldd reports for bin.
func lddPaths(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	return parseLdd(out), nil
}

// parseShowDepends returns the module files of `modprobe --show-depends` in load order, each
// once.
func parseShowDepends(out []byte) []string {
	var mods []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "insmod" && strings.HasPrefix(f[1], "/") && !seen[f[1]] {
			seen[f[1]] = true
			mods = append(mods, f[1])
		}
	}
	return mods
}

// parseLdd returns the absolute library paths (and the loader) in ldd's output, skipping the
// vDSO and libraries ldd could not find.
func parseLdd(out []byte) []string {
	var paths []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if _, after, ok := strings.Cut(line, "=> "); ok {
			line = after
		}
		p := strings.Fields(line)
		if len(p) > 0 && strings.HasPrefix(p[0], "/") {
			paths = append(paths, p[0])
		}
	}
	return paths
}
