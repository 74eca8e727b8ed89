// This file reads <ns>:fleet:recovered for `agent status --fleet`.

package queue

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ReadRecovered returns up to n records of <ns>:fleet:recovered under
// namespace ns, newest first. Records that do not decode are skipped.
func ReadRecovered(ctx context.Context, rdb redis.UniversalClient, ns string, n int) ([]Recovered, error) {
	raw, err := rdb.LRange(ctx, keys{ns: ns}.recovered(), 0, int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("read recovered jobs: %w", err)
	}
	out := make([]Recovered, 0, len(raw))
	for _, r := range raw {
		var rec Recovered
		if json.Unmarshal([]byte(r), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out, nil
}
