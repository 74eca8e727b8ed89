#!/usr/bin/env bash
# Installs what the QEMU provider and its real-VM tests need, only when missing: QEMU (TCG is
# enough; KVM is used when /dev/kvm is usable), qemu-img, passt (the guests' default network), and the tools qemu/imagebuild uses to
# make the tiny test guest from Debian packages (busybox-static, dropbear, cpio, mke2fs, kmod).
# The kernel is fetched by imagebuild itself with `apt-get download`, so the apt lists must be
# current: this script runs apt-get update when it installs anything or the lists are empty.
set -euo pipefail

need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)
command -v passt >/dev/null 2>&1 || need+=(passt) # the default network of QEMU guests (qemu/network.go)
command -v ip >/dev/null 2>&1 || need+=(iproute2) # network namespaces of the network tests (internal/netnstest)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
[ -x /usr/sbin/dropbear ] || need+=(dropbear-bin)
command -v dropbearkey >/dev/null 2>&1 || need+=(dropbear-bin)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
command -v mke2fs >/dev/null 2>&1 || need+=(e2fsprogs)
command -v debugfs >/dev/null 2>&1 || need+=(e2fsprogs)
command -v depmod >/dev/null 2>&1 || need+=(kmod)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#need[@]} -gt 0 ] || ! apt-cache depends linux-image-cloud-amd64 2>/dev/null | grep -q 'Depends: linux-image-'; then
  $sudo apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "qemu-deps: installing ${need[*]} from Debian packages"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
