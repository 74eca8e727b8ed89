package secretenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestTakeRemovesTheVariableAndKeepsItsValue(t *testing.T) {
	tests := []struct {
		name  string
		steps []string // "set=V" sets the variable, "take=W" takes it and wants W
	}{
		{"taken once then kept", []string{"set=pw-1", "take=pw-1", "take=pw-1"}},
		{"set again replaces the kept value", []string{"set=pw-1", "take=pw-1", "set=pw-2", "take=pw-2", "take=pw-2"}},
		{"set empty forgets it", []string{"set=pw-1", "take=pw-1", "set=", "take=", "take="}},
		{"never set is empty", []string{"take=", "take="}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "FLEET_SECRETENV_TEST_" + string(rune('A'+i))
			t.Setenv(name, "")
			os.Unsetenv(name)
			for _, s := range tt.steps {
				op, v, _ := strings.Cut(s, "=")
				switch op {
				case "set":
					os.Setenv(name, v)
				case "take":
					if got := Take(name); got != v {
						t.Fatalf("%s: Take = %q, want %q", s, got, v)
					}
					if _, still := os.LookupEnv(name); still {
						t.Fatalf("%s: %s still in the environment after Take", s, name)
					}
				}
			}
		})
	}
}

func TestChildStartedAfterTakeDoesNotSeeTheSecret(t *testing.T) {
	const name = "FLEET_SECRETENV_TEST_CHILD"
	t.Setenv(name, "child-must-not-see-this")
	if got := Take(name); got != "child-must-not-see-this" {
		t.Fatalf("Take = %q", got)
	}
	out, err := exec.Command("env").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "child-must-not-see-this") || strings.Contains(string(out), name+"=") {
		t.Errorf("a child started after Take sees the secret:\n%s", out)
	}
}
