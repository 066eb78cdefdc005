pytest_plugins = ["tests.plugins.emulator"]
