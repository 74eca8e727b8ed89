log "base applied"
execute "echo converged > converged.txt"
