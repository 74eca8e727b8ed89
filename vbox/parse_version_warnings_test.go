package vbox

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseVersionKeepsWarnings checks the kernel-module warning `agent doctor` reports is kept.
func TestParseVersionKeepsWarnings(t *testing.T) {
	cases := []struct {
		name string
		out  string
		want []string
	}{
		{"no warning", "7.0.14r161095\n", nil},
		{"vboxdrv missing", "WARNING: The character device /dev/vboxdrv does not exist.\n" +
			"         Please install the virtualbox-ose-dkms package and the appropriate\n" +
			"         headers, most likely linux-headers-generic.\n\n" +
			"         You will not be able to start VMs until this problem is fixed.\n4.1.2_Ubuntur38459\n",
			[]string{"WARNING: The character device /dev/vboxdrv does not exist.\n" +
				"Please install the virtualbox-ose-dkms package and the appropriate\n" +
				"headers, most likely linux-headers-generic.\n" +
				"You will not be able to start VMs until this problem is fixed."}},
		{"two blocks", "WARNING: The vboxdrv kernel module is not loaded.\n  Run /sbin/vboxconfig\nWARNING: second\n6.1.50r161033\n",
			[]string{"WARNING: The vboxdrv kernel module is not loaded.\nRun /sbin/vboxconfig", "WARNING: second"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := ParseVersion([]byte(c.out))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, v.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
