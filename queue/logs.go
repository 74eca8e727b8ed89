// This file keeps job records and logs: a job's state hash, its log as a
// capped list of numbered chunks, and a channel where each new chunk and
// the end of the job are published, so that a reader on any host can
// replay, then follow without gaps or repeats.

package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrJobNotFound is returned for a job id with no record and no log.
var ErrJobNotFound = errors.New("queue: job not found")

// endMarker prefixes the message published when a job reaches a terminal
// state; chunk messages start with a decimal sequence number instead.
const endMarker = "end "

// appendScript numbers a chunk, appends it to the capped log and publishes
// it, unless the attempt's fencing token (ARGV[3], "" = unfenced) is no
// longer the job's. KEYS: log, logseq, channel, job. ARGV: chunk, cap,
// token. Returns the number, or -1 for a stale attempt.
var appendScript = redis.NewScript(`
if ARGV[3] ~= '' and redis.call('HGET', KEYS[4], 'fence') ~= ARGV[3] then return -1 end
local seq = redis.call('INCR', KEYS[2])
local entry = seq .. ' ' .. ARGV[1]
redis.call('RPUSH', KEYS[1], entry)
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PUBLISH', KEYS[3], entry)
return seq
`)

// AppendLog appends one chunk of output to job id's log and publishes it.
// For a job this host runs, the chunk is dropped and ErrStale returned once
// another attempt has taken the job over.
func (c *Client) AppendLog(ctx context.Context, id string, chunk []byte) error {
	if len(chunk) == 0 {
		return nil
	}
	k := c.keys
	token := ""
	if t, ok := c.fences.get(id); ok {
		token = strconv.FormatInt(t, 10)
	}
	n, err := appendScript.Run(ctx, c.rdb, []string{k.log(id), k.logSeq(id), k.logChannel(id), k.job(id)},
		chunk, c.cfg.LogCap, token).Int64()
	if err != nil {
		return fmt.Errorf("append log %s: %w", id, err)
	}
	if n < 0 {
		return fmt.Errorf("append log %s: %w", id, ErrStale)
	}
	return nil
}

// splitEntry splits "<seq> <data>".
func splitEntry(e string) (int64, string, bool) {
	i := bytes.IndexByte([]byte(e), ' ')
	if i <= 0 {
		return 0, "", false
	}
	n, err := strconv.ParseInt(e[:i], 10, 64)
	if err != nil {
		return 0, "", false
	}
	return n, e[i+1:], true
}

// Status is a job's record, fleet:job:<id>.
type Status struct {
	ID         string
	State      State
	ExitCode   int
	Queue      string
	Worker     string
	Host       string
	Attempt    int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	// SubmittedAt is when Submit queued the job; zero for jobs enqueued by other clients.
	SubmittedAt time.Time
}

// JobStatus reads job id's record.
func (c *Client) JobStatus(ctx context.Context, id string) (Status, error) {
	m, err := c.rdb.HGetAll(ctx, c.keys.job(id)).Result()
	if err != nil {
		return Status{}, fmt.Errorf("job %s: %w", id, err)
	}
	if len(m) == 0 {
		return Status{}, fmt.Errorf("job %s: %w", id, ErrJobNotFound)
	}
	return statusFrom(id, m), nil
}

func statusFrom(id string, m map[string]string) Status {
	st := Status{ID: id, State: State(m["state"]), Queue: m["queue"], Worker: m["worker"],
		Host: m["host"], Error: m["error"]}
	st.ExitCode, _ = strconv.Atoi(m["exit_code"])
	st.Attempt, _ = strconv.Atoi(m["attempt"])
	st.StartedAt, _ = time.Parse(time.RFC3339Nano, m["started_at"])
	st.FinishedAt, _ = time.Parse(time.RFC3339Nano, m["finished_at"])
	st.SubmittedAt, _ = time.Parse(time.RFC3339Nano, m["submitted_at"])
	return st
}

// FollowLog writes job id's log to w. Without follow it writes what is
// stored and returns. With follow it then writes new chunks as they are
// appended until the job reaches a terminal state or ctx ends. It returns
// the job's last known state.
func (c *Client) FollowLog(ctx context.Context, id string, w io.Writer, follow bool) (State, error) {
	k := c.keys
	var sub *redis.PubSub
	if follow {
		// Subscribe before the snapshot so no chunk falls between the two.
		sub = c.rdb.Subscribe(ctx, k.logChannel(id))
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil {
			return "", fmt.Errorf("follow log %s: subscribe: %w", id, err)
		}
	}
	state, last, found, err := c.replay(ctx, id, w, 0)
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("job %s: %w", id, ErrJobNotFound)
	}
	if !follow || state.Terminal() {
		return state, nil
	}
	// The poll covers messages lost while the subscription reconnects.
	poll := time.NewTicker(2 * time.Second)
	defer poll.Stop()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return state, ctx.Err()
		case msg, ok := <-ch:
			if !ok {
				return state, fmt.Errorf("follow log %s: subscription closed", id)
			}
			if s, isEnd := bytes.CutPrefix([]byte(msg.Payload), []byte(endMarker)); isEnd {
				// Chunks published before the end marker have all arrived,
				// but read the list once more in case one was missed.
				_, last, _, err = c.replay(ctx, id, w, last)
				return State(s), err
			}
			seq, data, ok := splitEntry(msg.Payload)
			if !ok || seq <= last {
				continue
			}
			if seq > last+1 {
				if state, last, _, err = c.replay(ctx, id, w, last); err != nil {
					return state, err
				}
				continue
			}
			if _, err := io.WriteString(w, data); err != nil {
				return state, fmt.Errorf("follow log %s: %w", id, err)
			}
			last = seq
		case <-poll.C:
			st, err := c.rdb.HGet(ctx, k.job(id), "state").Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return state, fmt.Errorf("follow log %s: %w", id, err)
			}
			if State(st).Terminal() {
				_, _, _, err = c.replay(ctx, id, w, last)
				return State(st), err
			}
		}
	}
}

// replay writes stored chunks numbered after `after` and returns the job's
// state, the last chunk number written, and whether the job exists.
func (c *Client) replay(ctx context.Context, id string, w io.Writer, after int64) (State, int64, bool, error) {
	k := c.keys
	var stateCmd *redis.StringCmd
	var logCmd *redis.StringSliceCmd
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		stateCmd = p.HGet(ctx, k.job(id), "state")
		logCmd = p.LRange(ctx, k.log(id), 0, -1)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", after, false, fmt.Errorf("read log %s: %w", id, err)
	}
	state := State(stateCmd.Val())
	entries := logCmd.Val()
	last := after
	for _, e := range entries {
		seq, data, ok := splitEntry(e)
		if !ok || seq <= last {
			continue
		}
		if _, err := io.WriteString(w, data); err != nil {
			return state, last, true, fmt.Errorf("read log %s: %w", id, err)
		}
		last = seq
	}
	return state, last, state != "" || len(entries) > 0, nil
}
