include_recipe "apt" if platform_family?("debian")
include_recipe "xcode" if platform?("mac_os_x")

%w{build-essential binutils-doc}.each do |pkg|
  package pkg
end
