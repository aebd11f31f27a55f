"""Benchmarks of the native DSP core beside its peers (spandsp, speexdsp), measured in the
same run on the same signals. Not tests: nothing here asserts a speed."""
