# Report blocks: unknown kinds, bad URLs and tokens (reported on the block header, since a
# diagnostic prints the line it points at), duplicate receivers and limits out of range.

report "webhook" { # ERROR: Unsupported report kind
  url = "https://ci.example.org/fleet/events"
}

report "http" { # ERROR: Invalid report URL
  url = "ftp://ci.example.org/events"
}

report "http" { # ERROR: Invalid report URL
  url = "https:///no-host?token=hunter2"
}

report "http" {
  url   = "https://ci.example.org/fleet/events"
  token = "abc"
}

report "http" { # ERROR: Duplicate report
  url   = "https://ci.example.org/fleet/events"
  token = "other"
}

report "http" { # ERROR: Invalid token
  url            = "https://second.example.org/hook"
  token          = "line\n"
  queue_events   = 0 # ERROR: Invalid queue_events
  queue_bytes    = "1KiB"
  batch_bytes    = "64KiB" # ERROR: Batch larger than queue
  batch_interval = "soon" # ERROR: Invalid duration
  min_backoff    = "10s"
  max_backoff    = "1s" # ERROR: Backoff range reversed
  senders        = 100 # ERROR: Invalid senders
}

report "http" { # ERROR: Missing required argument
  token = "no url"
}

box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}

pool "ruby" {
  box = "lucid32"
}
