package jsontime

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDurationRoundTripsAsAGoDurationString(t *testing.T) {
	b, err := json.Marshal(Duration(90 * time.Minute))
	if err != nil || string(b) != `"1h30m0s"` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var d Duration
	if err := json.Unmarshal(b, &d); err != nil || time.Duration(d) != 90*time.Minute {
		t.Fatalf("Unmarshal(%s) = %v, %v", b, time.Duration(d), err)
	}
}

func TestDurationRejectsWhatIsNotADurationString(t *testing.T) {
	for _, in := range []string{`3000`, `"fifty minutes"`, `null`, `{}`} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, time.Duration(d))
		}
	}
}
