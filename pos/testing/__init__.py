"""Tools for testing pos against real failures: a fault-injecting TCP proxy."""
