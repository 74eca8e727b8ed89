include_recipe "windows::reg", "java::set_java_home" unless platform?("ubuntu")
package "openjdk-6-jdk"
