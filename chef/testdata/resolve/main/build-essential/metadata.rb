maintainer "Opscode, Inc."
version    "1.0.0"
# depends "ghost"  -- a comment, not a dependency
