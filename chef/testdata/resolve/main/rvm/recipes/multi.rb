include_recipe "rvm"
include_recipe("sweeper")

node[:rvm][:rubies].each do |ruby|
  rvm_ruby ruby
end
