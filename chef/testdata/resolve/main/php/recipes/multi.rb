log "php"
