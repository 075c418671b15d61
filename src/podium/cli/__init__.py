"""The command line: ``podium run``, ``validate``, ``graph``, ``runs``, ``logs``, ``resume``,
``cancel``. Parses, wires store + executor + engine, presents; no scheduling logic."""
