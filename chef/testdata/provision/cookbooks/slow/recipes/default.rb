execute "echo $$ > slow.pid; exec sleep 300"
