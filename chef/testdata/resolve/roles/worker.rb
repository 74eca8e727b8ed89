name "worker"
run_list "recipe[git]"
