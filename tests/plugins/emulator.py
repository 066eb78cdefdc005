"""pytest fixtures that start the Gmail emulator (filled in by the emulator work)."""
