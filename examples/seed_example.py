"""The seed's four-step example, unchanged but for the import.

Each ``Task`` names the steps it depends on; ``start()`` runs them in dependency order. The
steps have no work attached here (pass ``fn=`` to give one some). Run it either way:

    podium run examples/seed_example.py
    python examples/seed_example.py

Under ``podium run`` the module-level ``orchestrator.start()`` is deferred and the CLI runs
the orchestrator itself.
"""

from podium import Orchestrator, Task

orchestrator = Orchestrator()
orchestrator.add_task(Task("Data Ingestion"))
orchestrator.add_task(Task("Data Preparation", ["Data Ingestion"]))
orchestrator.add_task(Task("Model Training", ["Data Preparation"]))
orchestrator.add_task(Task("Model Deployment", ["Model Training"]))
orchestrator.start()
