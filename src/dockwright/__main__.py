from dockwright.cli import entry

entry()
