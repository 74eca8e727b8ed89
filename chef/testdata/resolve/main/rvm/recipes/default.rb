# include_recipe "ghost" is only a comment here
bash "install rvm" do
  code <<-EOH
    include_recipe "ghost" would be shell text, not Ruby
  EOH
end
