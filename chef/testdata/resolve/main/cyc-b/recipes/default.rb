log "b"
