"""A layered graph of thread tasks that write one ledger line per execution.

The ledger (path in PODIUM_TEST_LEDGER) gets ``name attempt idempotency_key`` when an attempt
starts, so an execution interrupted by kill -9 is still counted.
"""

import os
import random
import time

from podium import current_context, task, workflow


@task
def work(layer: int, index: int, *inputs: int) -> int:
    context = current_context()
    with open(os.environ["PODIUM_TEST_LEDGER"], "a") as ledger:
        ledger.write(f"{context.task_name} {context.attempt} {context.idempotency_key}\n")
        ledger.flush()
        os.fsync(ledger.fileno())
    time.sleep(0.15 + 0.1 * random.random())
    return layer * 100 + index


@workflow
def layered(layers: int = 6, width: int = 5):
    previous: list = []
    for layer in range(layers):
        current = []
        for index in range(width):
            inputs = previous[index : index + 2] if previous else []
            current.append(work(layer, index, *inputs, name=f"work_{layer}_{index}"))
        previous = current
    return previous
