// Command vboxsim is the VirtualBox simulator: invoke it exactly like
// VBoxManage, with its state directory in VBOXSIM_HOME.
package main

import (
	"os"

	"github.com/fleet-agent/fleet/vbox/vboxsim"
)

func main() {
	os.Exit(vboxsim.Main(os.Args[1:], os.Stdout, os.Stderr))
}
