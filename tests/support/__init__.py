"""Helpers written once for the tests and the bench: processes, waiting, clocks."""
