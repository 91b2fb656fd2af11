"""The package version: CMakeLists.txt's project(VERSION), which
test/install/check-pip-install.sh checks it against."""
__version__ = "0.1.0"
