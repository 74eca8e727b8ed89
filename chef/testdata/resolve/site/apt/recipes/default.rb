log "site apt"
