// Package jsontime holds the one JSON form of a duration that the agent's files and wire
// formats share: a Go duration string such as "50m" or "1h30m" (job payloads, control-socket
// requests, the simulator's fault files).
package jsontime

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Duration is a time.Duration written in JSON as a Go duration string ("50m", "1h30m").
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string. The errors are written for the person who wrote the
// JSON: they say what was expected.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration string such as "50m"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"50m\"", s)
	}
	*d = Duration(v)
	return nil
}
