// This file is fencing: every attempt at a job takes a token from
// <ns>:fleet:fence and writes it into the job's record; whoever takes the job
// away from an attempt (a reaper requeueing a dead host's jobs, the next
// attempt) writes a newer one. The attempt's log appends, its result and its
// cancel watch compare tokens, so a host that was only cut off and comes
// back learns it is stale and publishes nothing more.

package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ErrStale is returned (wrapped) by Finish and AppendLog, and is the cause of
// a WatchCancel context, when the attempt no longer owns its job: another
// host took it over. The attempt's result must be discarded; it is not the
// build's failure.
var ErrStale = errors.New("queue: stale attempt: the job was taken over by another attempt")

// fences maps a job id to the fencing token of this Client's attempt at it.
type fences struct {
	mu sync.Mutex
	m  map[string]int64
}

func (f *fences) set(id string, token int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[string]int64)
	}
	f.m[id] = token
}

func (f *fences) get(id string) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.m[id]
	return t, ok
}

func (f *fences) drop(id string, token int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m[id] == token {
		delete(f.m, id)
	}
}

// fenceHolds reports whether token is still the job's current token.
func fenceHolds(ctx context.Context, r redis.Cmdable, jobKey string, token int64) (bool, error) {
	holds, _, err := fenceState(ctx, r, jobKey, token)
	return holds, err
}

// fenceState reports whether token is still the job's current token, and
// whether the result of that attempt is already recorded.
func fenceState(ctx context.Context, r redis.Cmdable, jobKey string, token int64) (holds, recorded bool, err error) {
	v, err := r.HMGet(ctx, jobKey, "fence", "result_fence").Result()
	if err != nil {
		return false, false, err
	}
	want := strconv.FormatInt(token, 10)
	cur, _ := v[0].(string)
	done, _ := v[1].(string)
	return cur == want, cur == want && done == want, nil
}

// errRecorded is fenced's answer when the attempt's result is already
// recorded: nothing was written.
var errRecorded = errors.New("queue: result already recorded")

// Stale reports whether this host's attempt at job id has been taken over.
// It is false for a job this Client does not run.
func (c *Client) Stale(ctx context.Context, id string) (bool, error) {
	token, ok := c.fences.get(id)
	if !ok {
		return false, nil
	}
	holds, err := fenceHolds(ctx, c.rdb, c.keys.job(id), token)
	if err != nil {
		return false, fmt.Errorf("fence of job %s: %w", id, err)
	}
	return !holds, nil
}

// fencedRetries bounds how often fenced retries a write whose job record
// changed under it.
const fencedRetries = 5

// fenced runs write in one MULTI/EXEC, only while job's fence still holds:
// WATCH on the job record makes a takeover between the check and EXEC
// abort the write, and the check is made again. It returns ErrStale when
// the attempt has been taken over. Jobs without an id are not fenced.
// A result the attempt already recorded returns errRecorded.
func (c *Client) fenced(ctx context.Context, job *Job, write func(redis.Pipeliner) error) error {
	if job.ID == "" || job.Fence == 0 {
		_, err := c.rdb.TxPipelined(ctx, write)
		return err
	}
	jobKey := c.keys.job(job.ID)
	for range fencedRetries {
		err := c.rdb.Watch(ctx, func(tx *redis.Tx) error {
			holds, recorded, err := fenceState(ctx, tx, jobKey, job.Fence)
			if err != nil {
				return err
			}
			if !holds {
				return ErrStale
			}
			if recorded {
				return errRecorded
			}
			_, err = tx.TxPipelined(ctx, write)
			return err
		}, jobKey)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		return err
	}
	return fmt.Errorf("job record kept changing: %w", redis.TxFailedErr)
}
