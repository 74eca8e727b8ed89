// The doctor's QEMU checks, run when a pool says provider = "qemu": the emulator and qemu-img
// found, which accelerator new VMs will get (KVM, or TCG software emulation and why), and for
// pools with the default egress passt present and runnable and QEMU new enough to connect to it.

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/qemu"
	"github.com/fleet-agent/fleet/spec"
)

// usesProvider reports whether a pool of f uses provider.
func usesProvider(f *spec.Fleet, provider string) bool {
	for _, p := range f.Pools {
		if p.Provider == provider {
			return true
		}
	}
	return false
}

// checkQEMU finds the emulator and qemu-img and reports the accelerator.
func checkQEMU(ctx context.Context, f *spec.Fleet) []finding {
	var out []finding
	bin, err := exec.LookPath(f.QEMU.Binary)
	if err != nil {
		return []finding{{sevFail, "qemu", fmt.Sprintf("%q not found: %v", f.QEMU.Binary, err),
			"install QEMU (apt-get install qemu-system-x86 qemu-utils), or set qemu { binary = \"/path/to/qemu-system-x86_64\" }"}}
	}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := exec.CommandContext(vctx, bin, "--version").Output()
	if err != nil {
		out = append(out, finding{sevFail, "qemu", fmt.Sprintf("%s --version failed: %v", bin, err), "reinstall QEMU; run it with --version by hand to see why"})
	} else {
		out = append(out, finding{sev: sevOK, what: "qemu", detail: fmt.Sprintf("%s, %s", bin, strings.SplitN(strings.TrimSpace(string(v)), "\n", 2)[0])})
	}
	if img, err := exec.LookPath("qemu-img"); err != nil {
		out = append(out, finding{sevFail, "qemu-img", "not found in PATH", "apt-get install qemu-utils"})
	} else {
		out = append(out, finding{sev: sevOK, what: "qemu-img", detail: img})
	}
	if isolatedQEMUPools(f) {
		out = append(out, checkPasst(ctx, string(v)))
	}
	switch accel := qemu.Accel(f.QEMU.Accel); {
	case accel == "kvm" && f.QEMU.Accel == spec.AccelKVM:
		if _, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
			out = append(out, finding{sevFail, "accelerator", "accel = \"kvm\" but /dev/kvm is not usable: " + err.Error(),
				"enable virtualisation in the firmware and load kvm_intel or kvm_amd, add the agent's user to group kvm, or set accel = \"auto\""})
		} else {
			out = append(out, finding{sev: sevOK, what: "accelerator", detail: "KVM"})
		}
	case accel == "kvm":
		out = append(out, finding{sev: sevOK, what: "accelerator", detail: "KVM (/dev/kvm usable, CPU has vmx/svm)"})
	default:
		out = append(out, finding{sevWarn, "accelerator", "TCG software emulation: builds run several times slower than under KVM",
			"for KVM: a CPU with vmx/svm exposed, /dev/kvm read-write for the agent's user (group kvm)"})
	}
	return out
}

// isolatedQEMUPools reports whether a QEMU pool of f uses the default egress (passt).
func isolatedQEMUPools(f *spec.Fleet) bool {
	for _, p := range f.Pools {
		if p.Provider == spec.ProviderQEMU && p.Network.Egress != spec.EgressNone {
			return true
		}
	}
	return false
}

// checkPasst finds passt and runs it, and checks that the emulator (its --version output
// given) is QEMU 7.2 or newer, the first with -netdev stream.
func checkPasst(ctx context.Context, qemuVersion string) finding {
	const fix = "apt-get install passt (Debian 12 and newer); QEMU pools with network { egress = \"isolated\" } (the default) run one passt per VM so that builds cannot reach the host's loopback"
	bin, err := exec.LookPath(qemu.DefaultPasst)
	if err != nil {
		return finding{sevFail, "passt", "not found in PATH: QEMU workers with the default egress cannot start", fix}
	}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(vctx, bin, "--version").CombinedOutput(); err != nil {
		return finding{sevFail, "passt", fmt.Sprintf("%s --version failed: %v: %s", bin, err, strings.TrimSpace(string(b))), "reinstall passt: " + fix}
	}
	if major, minor, ok := qemuRelease(qemuVersion); ok && (major < 7 || major == 7 && minor < 2) {
		return finding{sevFail, "passt", fmt.Sprintf("QEMU %d.%d cannot connect to passt (-netdev stream needs QEMU 7.2)", major, minor),
			"upgrade QEMU to 7.2 or newer, or set network { egress = \"none\" } on the QEMU pools"}
	}
	return finding{sev: sevOK, what: "passt", detail: bin + " (QEMU guests: outbound network, no host loopback)"}
}

// qemuRelease parses "QEMU emulator version 7.2.22 (...)".
func qemuRelease(version string) (major, minor int, ok bool) {
	_, rest, found := strings.Cut(version, "version ")
	if !found {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(rest, "%d.%d", &major, &minor); err != nil {
		return 0, 0, false
	}
	return major, minor, true
}
