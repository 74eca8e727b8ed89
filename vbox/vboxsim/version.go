// This file is the simulated VirtualBox version and what depends on it: the NAT engine's
// "localhost reachable" setting, which VirtualBox 7.0 added.
//
// Facts (recorded in shared/VBOXMANAGE.md section 6a, checked against the public VirtualBox
// source mirror, src/VBox/Frontends/VBoxManage/VBoxManageModifyVM.cpp of the 7.x trunk):
//   - 7.x defines OPT2("--nat-localhostreachable", "--natlocalhostreachable", ...,
//     RTGETOPT_REQ_BOOL_ONOFF | RTGETOPT_FLAG_INDEX): the adapter number is appended
//     (--nat-localhostreachable1) and the value is on|off.
//   - An option modifyvm does not know reaches the default case, which calls errorGetOpt
//     ("Unknown option: %s") and sets hrc = E_FAIL; the handler then returns
//     RTEXITCODE_FAILURE: exit 1, not the exit 2 of errorSyntax. 6.1 and older print the
//     command's usage on stderr before the error line. Older versions reject the 7.0 flag
//     this way (public report: kubernetes/minikube#15566, "passing this parameter with
//     previous VB versions will fail").
//   - VirtualBox 7 closes host loopback for new VMs only; machines whose settings predate it
//     keep reaching it. The simulator treats an imported box (a Vagrant box is usually made
//     by an older VirtualBox) like such a machine, so only an explicit
//     --nat-localhostreachable1 off closes it.
//   - showvminfo --machinereadable prints the setting per NAT adapter as
//     localhostReachable="0"|"1" after the adapter's NAT settings (public user notes and a
//     public driver's integration test read that key); the exact key is UNVERIFIED against a
//     capture, and versions before 7.0 print nothing.

package vboxsim

import (
	"os"
	"regexp"
	"strconv"
	"strings"
)

// versionEnv selects the simulated version (what --version prints), Version when unset.
const versionEnv = "VBOXSIM_VERSION"

// simVersion is the version this invocation simulates.
func simVersion() string {
	if v := os.Getenv(versionEnv); v != "" {
		return v
	}
	return Version
}

var versionPrefix = regexp.MustCompile(`^(\d+)\.(\d+)`)

// versionAtLeast reports whether version v (as --version prints it) is major.minor or newer.
func versionAtLeast(v string, major, minor int) bool {
	m := versionPrefix.FindStringSubmatch(v)
	if m == nil {
		return false
	}
	ma, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return ma > major || ma == major && mi >= minor
}

// hasLocalhostSetting reports whether the simulated version has the NAT engine's localhost
// reachable setting (VirtualBox 7.0 and later).
func hasLocalhostSetting() bool { return versionAtLeast(simVersion(), 7, 0) }

// shortVersion is the version without its revision ("7.0.14").
func shortVersion() string { return strings.Split(simVersion(), "r")[0] }

// apiVersion is what list systemproperties prints as "API version" ("7_0").
func apiVersion() string {
	m := versionPrefix.FindStringSubmatch(simVersion())
	if m == nil {
		return "7_0"
	}
	return m[1] + "_" + m[2]
}

var localhostOpt = regexp.MustCompile(`^--nat-?localhostreachable(\d+)$`)

// unknownOption is modifyvm's refusal of an option it does not know: exit 1 (see above), with
// the usage before the error line on versions before 7.0 and after it from 7.0 on.
func unknownOption(cmd, opt string) *exitError {
	if versionAtLeast(simVersion(), 7, 0) {
		e := syntaxError(cmd, "Unknown option: %s", opt)
		e.code = 1
		return e
	}
	u, ok := usages[cmd]
	if !ok {
		u = "VBoxManage " + cmd + " ..."
	}
	return &exitError{stderr: "Usage:\n\n" + u + "\n\n" + prefix + "Unknown option: " + opt + "\n", code: 1}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
