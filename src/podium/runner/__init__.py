"""The composition root for runs: wires a store, an executor and the engine."""
