"""Benchmarks that print numbers (`jobmatch bench …`); never run as timed tests."""
