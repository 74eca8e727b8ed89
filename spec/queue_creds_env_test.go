package spec

import (
	"os"
	"testing"
)

// TestPasswordEnvLeavesTheEnvironmentAndStillLoadsOnReload: loading a fleet.hcl with
// password_env takes the variable out of the process environment (children started afterwards
// do not inherit it), and a reload of the same file still finds the password.
func TestPasswordEnvLeavesTheEnvironmentAndStillLoadsOnReload(t *testing.T) {
	const name = "FLEET_TEST_TAKEN_PW"
	t.Setenv(name, "taken-s3cret")
	src := []byte("queue {\n  username = \"fleet\"\n  password_env = \"" + name + "\"\n}\n" + credsPool)
	for _, load := range []string{"first load", "reload"} {
		if _, diags := LoadBytes("fleet.hcl", src); diags.HasErrors() {
			t.Fatalf("%s: %s", load, diags.Error())
		}
		if _, still := os.LookupEnv(name); still {
			t.Fatalf("%s: %s is still in the environment", load, name)
		}
	}
}
