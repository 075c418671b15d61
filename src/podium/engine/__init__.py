"""The engine: one event loop owns a run's state and drives executors; writes to the store."""
