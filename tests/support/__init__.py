"""Test support: waiting, processes, a TCP proxy, bus helpers."""
