// The QEMU side of fleet.hcl: the host-wide `qemu` block (binary, accelerator), a box's format
// and kernel command line, and the cross-block check that every pool's box is in the format its
// provider imports.
package spec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// QEMU configures the QEMU provider, used by pools with provider = "qemu".
type QEMU struct {
	// Binary is the qemu system emulator, a name looked up in PATH or a path. Default:
	// "qemu-system-x86_64".
	Binary string
	// Accel is "auto" (the default: KVM when /dev/kvm is usable and the CPU has hardware
	// virtualisation, else TCG software emulation), "kvm" or "tcg".
	Accel string
}

// Accelerators accepted by qemu.accel.
const (
	AccelAuto = "auto"
	AccelKVM  = "kvm"
	AccelTCG  = "tcg"
)

// Box formats accepted by box.format.
const (
	// BoxFormatVagrant is a Vagrant VirtualBox box (.box: box.ovf, disks, metadata.json),
	// imported by VirtualBox.
	BoxFormatVagrant = "vagrant"
	// BoxFormatQEMU is a tar (optionally gzipped) holding box.qcow2 and, for direct kernel
	// boot, vmlinuz, initrd.img and a one-line cmdline file; imported by QEMU.
	BoxFormatQEMU = "qemu"
)

const defaultQEMUBinary = "qemu-system-x86_64"

func (d *decoder) qemu(n *node) QEMU {
	q := QEMU{}
	var a *hcl.Attribute
	q.Binary, a = d.str(n, "binary", defaultQEMUBinary)
	switch {
	case a != nil && q.Binary == "":
		d.errorf(a.Expr.Range(), "Empty path", "binary cannot be empty; leave it out to run %q from PATH.", defaultQEMUBinary)
		q.Binary = defaultQEMUBinary
	case a != nil && strings.ContainsRune(q.Binary, '/'):
		q.Binary = absPath(fileDir(a.Range.Filename), q.Binary)
	}
	q.Accel, a = d.str(n, "accel", AccelAuto)
	if a != nil && q.Accel != AccelAuto && q.Accel != AccelKVM && q.Accel != AccelTCG {
		d.errorf(a.Expr.Range(), "Unsupported accelerator", "accel %q is not known; use %q (KVM when usable, else TCG), %q or %q.",
			q.Accel, AccelAuto, AccelKVM, AccelTCG)
		q.Accel = AccelAuto
	}
	return q
}

// boxFormat reads a box's format and kernel command line into b.
func (d *decoder) boxFormat(n *node, b *Box) {
	var a *hcl.Attribute
	b.Format, a = d.str(n, "format", BoxFormatVagrant)
	if a != nil && b.Format != BoxFormatVagrant && b.Format != BoxFormatQEMU {
		d.errorf(a.Expr.Range(), "Unsupported box format", "format %q is not known; use %q (a Vagrant VirtualBox box) or %q (a qcow2 box for QEMU).",
			b.Format, BoxFormatVagrant, BoxFormatQEMU)
		b.Format = BoxFormatVagrant
	}
	b.FormatRange = n.defRange
	if a != nil {
		b.FormatRange = a.Expr.Range()
	}
	b.Cmdline, a = d.str(n, "cmdline", "")
	if a != nil && b.Format != BoxFormatQEMU {
		d.errorf(a.Expr.Range(), "Command line without direct boot", "cmdline is the kernel command line of a QEMU box; set format = %q, or remove it.",
			BoxFormatQEMU)
	}
}

// BoxFormatFor returns the box format a pool with provider imports.
func BoxFormatFor(provider string) string {
	if provider == ProviderQEMU {
		return BoxFormatQEMU
	}
	return BoxFormatVagrant
}

// checkBoxFormats reports every pool whose box is not in the format its provider imports: a
// qcow2 box cannot be imported by VirtualBox, nor a Vagrant box by QEMU.
func checkBoxFormats(fl *Fleet) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, p := range fl.Pools {
		b := fl.Box(p.Box)
		if b == nil || b.Format == BoxFormatFor(p.Provider) {
			continue
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Box format does not fit the provider",
			Detail: fmt.Sprintf("Pool %q (provider %q) uses box %q of format %q, but %s imports boxes of format %q; use a %s box, or change the pool's provider.",
				p.Name, p.Provider, b.Name, b.Format, p.Provider, BoxFormatFor(p.Provider), BoxFormatFor(p.Provider)),
			Subject: p.BoxRange.Ptr(),
		})
	}
	return diags
}
