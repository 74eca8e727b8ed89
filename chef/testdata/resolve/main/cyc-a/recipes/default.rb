log "a"
