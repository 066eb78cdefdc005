"""The benchmark harness of issue 5 ("Benchmarks"): run it with `python bench/run.py`."""
