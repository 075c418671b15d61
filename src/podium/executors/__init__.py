"""Executors: where attempts run. ``local`` runs coroutines, threads, processes and shells."""
