package sandbox

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: every
// goroutine the sandbox starts is owned by a job and waited for.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
