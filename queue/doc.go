// Package queue is the agent's Resque-compatible job queue on Redis.
//
// On the wire the agent is an ordinary Resque worker: jobs are JSON payloads
// RPUSHed to <ns>:queue:<name> by any Resque client (Ruby Resque,
// node-resque, `agent submit`); each VM slot registers as one Resque worker
// (id host:pid-slot:q1,q2) with workers, worker:<id>:started,
// workers:heartbeat (Redis server time), a worker:<id> "working on" record
// while it runs a job, the stat:* counters and Resque-shaped records in
// failed, so resque-web and node-resque show and retry our work.
//
// Where Resque loses jobs the agent does better. Fetch moves a payload from
// the head of its queue into a processing list owned by the slot with
// LMOVE/BLMOVE, so a crash never loses it; Finish removes it in the same
// MULTI/EXEC that records the result. Recover (at start-up and from Run)
// pushes processing lists of dead workers of this host back to the head of
// their queues, counting attempts in a hash beside the payload, and moves a
// job that has been started MaxAttempts times to failed as a poison job.
//
// Payload bytes are never re-serialised: Resque and node-resque delete
// entries by exact bytes. The payload format is documented in docs/JOBS.md.
//
// Keys used only by the agent live under <ns>:fleet: — job records
// (fleet:job:<id>), capped logs with a publish channel for followers,
// cancel requests, processing lists, attempts and the host pause flag.
// On Redis Cluster the namespace must carry a hash tag, e.g. "{resque}",
// because fetch and finish touch several keys atomically.
package queue
