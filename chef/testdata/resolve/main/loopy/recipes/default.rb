log "loopy"
