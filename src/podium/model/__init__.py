"""The model layer: pure definitions (tasks, workflows, graphs, parameters, attempt records).

Nothing here runs anything or imports another podium layer.
"""
