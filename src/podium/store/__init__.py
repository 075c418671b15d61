"""Stores: where runs, task instances, attempts, results and events are kept."""
