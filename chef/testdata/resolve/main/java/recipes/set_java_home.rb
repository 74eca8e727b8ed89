ruby_block "set-env-java-home" do
  block { ENV["JAVA_HOME"] = node['java']['java_home'] }
end
