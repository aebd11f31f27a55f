"""The edgepbx appliance application: configuration, records, calls, routing, ACD, callback,
cloud sync and the console. Imports drivers/ and native/; never webui/."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("edgepbx")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"
