"""A small but real ML pipeline: ingest -> validate -> prepare -> train (fan-out) ->
evaluate (fan-out) -> select_best -> deploy.

It uses a dataset that ships with scikit-learn (no download), trains one model per entry of
``CONFIGS``, scores every candidate on a held-out test set, picks the best one and writes
it, with a JSON model card, to ``output_dir``. Along the way it shows:

- retries: ``ingest`` reads from a source that is flaky on purpose; its first attempt fails
  and a retry gets the data (``-p flaky_attempts=0`` turns the hiccup off);
- caching: ``prepare`` is ``cache=True``; run the pipeline again with the same parameters
  and it ends ``cached``, its result taken from the first run (``--no-cache`` runs it);
- resources and a fallback: ``train_on_gpu`` asks for ``{"gpu": 1, "cpu": 1, "memory_mb":
  1000}``; on a machine without a GPU every element goes straight to its fallback
  ``train`` (CPU, in a worker process) without trying, and ends ``fell_back``. Declare a
  GPU (``--resources gpu=1``) and they run on it, one at a time, each told its device in
  ``CUDA_VISIBLE_DEVICES``;
- usage: the run ends with the wall time, CPU time, peak memory and queue wait of every
  task, the bottlenecks, the cache's hits and misses, and the critical path.

    podium run examples/ml_pipeline.py
    podium run examples/ml_pipeline.py      # again: prepare is cached
    podium run examples/ml_pipeline.py --no-cache
    podium run examples/ml_pipeline.py --resources gpu=1
    podium run examples/ml_pipeline.py -p seed=7 -p dataset=digits
    python examples/ml_pipeline.py          # the same, through the Python API
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from podium import OutsideTaskError, current_context, task, workflow

# Datasets bundled with scikit-learn: nothing is downloaded.
Dataset = Literal["breast_cancer", "digits", "wine"]
DATASETS = get_args(Dataset)

# One model is trained per entry (the fan-out of ``train``).
CONFIGS: list[dict[str, Any]] = [
    {"name": "logreg-C0.1", "kind": "logistic_regression", "params": {"C": 0.1}},
    {"name": "logreg-C1", "kind": "logistic_regression", "params": {"C": 1.0}},
    {"name": "logreg-C10", "kind": "logistic_regression", "params": {"C": 10.0}},
    {
        "name": "forest-100",
        "kind": "random_forest",
        "params": {"n_estimators": 100, "max_depth": None},
    },
    {
        "name": "forest-200-d6",
        "kind": "random_forest",
        "params": {"n_estimators": 200, "max_depth": 6},
    },
    {
        "name": "gboost-100-d2",
        "kind": "gradient_boosting",
        "params": {"n_estimators": 100, "max_depth": 2, "learning_rate": 0.1},
    },
]

Metric = Literal["f1", "roc_auc", "accuracy"]
METRICS = get_args(Metric)


def _in_task() -> bool:
    try:
        current_context()
    except OutsideTaskError:
        return False
    return True


def _log(message: str, *args: Any) -> None:
    """Log into the running attempt's captured log (``podium logs``); outside a run, as
    when a task function is called directly in a test, to this module's logger."""
    try:
        logger = current_context().logger
    except OutsideTaskError:
        logger = logging.getLogger(__name__)
    logger.info(message, *args)


# -- tasks ---------------------------------------------------------------------------------


class FlakySourceError(ConnectionError):
    """The data source hiccuped (simulated): worth another attempt."""


@task(retries=3, retry_delay=0.2, backoff=2.0, retry_on=(FlakySourceError,))
def ingest(dataset: str, flaky_attempts: int = 1) -> dict[str, Any]:
    """Load a dataset bundled with scikit-learn, from a source that is flaky on purpose:
    its first ``flaky_attempts`` attempts fail (deterministically, so the demo repeats),
    and the task's retry policy gets the data on a later attempt."""
    attempt = current_context().attempt if _in_task() else flaky_attempts + 1
    if attempt <= flaky_attempts:
        _log("attempt %d: the data source timed out (simulated)", attempt)
        raise FlakySourceError(f"the data source for {dataset!r} timed out (attempt {attempt})")
    from sklearn import datasets

    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    bunch = getattr(datasets, f"load_{dataset}")()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target)
    _log(
        "loaded %s: %d rows, %d features, %d classes",
        dataset,
        X.shape[0],
        X.shape[1],
        len(np.unique(y)),
    )
    return {
        "name": dataset,
        "X": X,
        "y": y,
        "feature_names": [str(name) for name in getattr(bunch, "feature_names", [])],
        "target_names": [str(name) for name in bunch.target_names],
    }


@task
def validate(
    raw: dict[str, Any], min_rows: int = 100, min_class_ratio: float = 0.2
) -> dict[str, Any]:
    """Check shape, missing values and class balance; raise ValueError when invalid."""
    X, y = raw["X"], raw["y"]
    problems = []
    if X.ndim != 2:
        problems.append(f"X must be 2-dimensional, got shape {X.shape}")
    elif X.shape[0] != y.shape[0]:
        problems.append(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    if X.shape[0] < min_rows:
        problems.append(f"only {X.shape[0]} rows (need at least {min_rows})")
    missing = int(np.isnan(X).sum())
    if missing:
        problems.append(f"{missing} missing (NaN) values in X")
    if not np.isfinite(X[~np.isnan(X)]).all():
        problems.append("X contains infinite values")
    classes, counts = np.unique(y, return_counts=True)
    per_class = dict(zip(classes.tolist(), counts.tolist(), strict=True))
    if len(classes) < 2:
        problems.append(f"need at least 2 classes, got {len(classes)}")
    else:
        ratio = counts.min() / counts.max()
        if ratio < min_class_ratio:
            problems.append(
                f"classes are too imbalanced: smallest/largest = {ratio:.2f} "
                f"(< {min_class_ratio}); counts {per_class}"
            )
    if problems:
        raise ValueError(f"dataset {raw['name']!r} is invalid: " + "; ".join(problems))
    _log("dataset %s is valid: shape %s, class counts %s", raw["name"], X.shape, per_class)
    return raw


@task(cache=True)
def prepare(raw: dict[str, Any], test_size: float, seed: int) -> dict[str, Any]:
    """Stratified train/test split, then a StandardScaler fitted on the training set only.

    Cached: it depends on nothing but its inputs (the dataset's content, ``test_size`` and
    ``seed``), so a later run with the same ones takes this result instead of running it.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(
        raw["X"], raw["y"], test_size=test_size, random_state=seed, stratify=raw["y"]
    )
    scaler = StandardScaler().fit(X_train)
    _log(
        "split %d train / %d test rows (test_size=%s, seed=%d); scaler fitted on train",
        len(y_train),
        len(y_test),
        test_size,
        seed,
    )
    return {
        "dataset": raw["name"],
        "target_names": raw["target_names"],
        "X_train": scaler.transform(X_train),
        "X_test": scaler.transform(X_test),
        "X_test_raw": X_test,
        "y_train": y_train,
        "y_test": y_test,
        "scaler": scaler,
        "seed": seed,
    }


def make_model(kind: str, params: dict[str, Any], seed: int) -> Any:
    """A fresh, unfitted estimator for one configuration."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    if kind == "logistic_regression":
        return LogisticRegression(max_iter=2000, random_state=seed, **params)
    if kind == "random_forest":
        return RandomForestClassifier(random_state=seed, n_jobs=1, **params)
    if kind == "gradient_boosting":
        return GradientBoostingClassifier(random_state=seed, **params)
    raise ValueError(f"unknown model kind {kind!r}")


def fit_candidate(config: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Fit one candidate on the training set: the config, the fitted model, its time."""
    started = time.perf_counter()
    model = make_model(config["kind"], config["params"], data["seed"])
    model.fit(data["X_train"], data["y_train"])
    seconds = time.perf_counter() - started
    return {**config, "model": model, "fit_seconds": round(seconds, 3)}


@task(isolation="process", resources={"cpu": 1, "memory_mb": 500})
def train(config: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Fit one candidate on the CPU, in a worker process: ``train_on_gpu``'s fallback."""
    candidate = fit_candidate(config, data)
    _log(
        "%s: trained %s %s on the CPU in %.2fs (worker pid %d)",
        config["name"],
        config["kind"],
        config["params"],
        candidate["fit_seconds"],
        os.getpid(),
    )
    return {**candidate, "device": "cpu"}


@task(
    isolation="process",
    resources={"gpu": 1, "cpu": 1, "memory_mb": 1000},
    fallback=train,
)
def train_on_gpu(config: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Fit one candidate on the GPU podium placed it on. Where no GPU is declared or
    detected, podium runs ``train`` (on the CPU) instead, without trying this one.

    scikit-learn does not use GPUs, so this fits the same model on the CPU and records its
    placement: a real trainer would hand the data to a GPU library, which sees only the
    devices in ``CUDA_VISIBLE_DEVICES``.
    """
    gpus = current_context().gpus if _in_task() else ()
    candidate = fit_candidate(config, data)
    _log(
        "%s: trained %s %s on GPU %s (CUDA_VISIBLE_DEVICES=%s) in %.2fs (worker pid %d)",
        config["name"],
        config["kind"],
        config["params"],
        ",".join(gpus) or "-",
        os.environ.get("CUDA_VISIBLE_DEVICES", "-"),
        candidate["fit_seconds"],
        os.getpid(),
    )
    return {**candidate, "device": f"gpu {','.join(gpus)}" if gpus else "cpu"}


@task
def evaluate(candidate: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Score one trained candidate on the test set: accuracy, F1 and ROC AUC."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    model, X_test, y_test = candidate["model"], data["X_test"], data["y_test"]
    predicted = model.predict(X_test)
    probabilities = model.predict_proba(X_test)
    if probabilities.shape[1] == 2:
        f1 = f1_score(y_test, predicted)
        auc = roc_auc_score(y_test, probabilities[:, 1])
    else:  # multiclass: macro F1, one-vs-rest ROC AUC
        f1 = f1_score(y_test, predicted, average="macro")
        auc = roc_auc_score(y_test, probabilities, multi_class="ovr")
    metrics = {
        "accuracy": round(float(accuracy_score(y_test, predicted)), 4),
        "f1": round(float(f1), 4),
        "roc_auc": round(float(auc), 4),
    }
    _log("%s: %s", candidate["name"], metrics)
    return {
        "name": candidate["name"],
        "kind": candidate["kind"],
        "params": candidate["params"],
        "device": candidate["device"],
        "fit_seconds": candidate["fit_seconds"],
        "metrics": metrics,
    }


@task
def select_best(evaluations: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """The best candidate by ``metric``; ties are broken by the other metrics, then name."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    order = [metric] + [m for m in METRICS if m != metric]
    ranked = sorted(evaluations, key=lambda e: ([-e["metrics"][m] for m in order], e["name"]))
    winner = ranked[0]
    _log(
        "ranking by %s: %s",
        metric,
        ", ".join(f"{e['name']}={e['metrics'][metric]}" for e in ranked),
    )
    _log("winner: %s %s", winner["name"], winner["metrics"])
    return {
        "metric": metric,
        "winner": winner,
        "ranking": [e["name"] for e in ranked],
        "candidates": evaluations,
    }


@task
def deploy(
    trained: list[dict[str, Any]], selection: dict[str, Any], data: dict[str, Any], output_dir: str
) -> dict[str, Any]:
    """Write the winning model (scaler + estimator as one sklearn Pipeline) and its card."""
    import joblib
    import sklearn
    from sklearn.pipeline import Pipeline

    try:
        run_id: str | None = current_context().run_id
    except OutsideTaskError:  # called directly, not by a podium run
        run_id = None
    winner = selection["winner"]
    model = next(c["model"] for c in trained if c["name"] == winner["name"])
    pipeline = Pipeline([("scaler", data["scaler"]), ("model", model)])
    # The deployed pipeline takes raw features: check it reproduces the evaluated accuracy.
    accuracy = float((pipeline.predict(data["X_test_raw"]) == data["y_test"]).mean())
    if round(accuracy, 4) != winner["metrics"]["accuracy"]:
        raise RuntimeError(
            f"deployed pipeline scores {accuracy:.4f}, evaluation said "
            f"{winner['metrics']['accuracy']}"
        )

    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / "model.joblib"
    card_path = folder / "model_card.json"
    temporary = model_path.with_name(f".{model_path.name}.{os.getpid()}.tmp")
    joblib.dump(pipeline, temporary)
    os.replace(temporary, model_path)  # atomic: a retried attempt just overwrites it

    card = {
        "model": winner["name"],
        "kind": winner["kind"],
        "params": winner["params"],
        "trained_on": winner["device"],
        "metrics": winner["metrics"],
        "selected_by": selection["metric"],
        "ranking": selection["ranking"],
        "candidates": selection["candidates"],
        "dataset": {
            "name": data["dataset"],
            "classes": data["target_names"],
            "n_features": int(data["X_train"].shape[1]),
            "n_train": len(data["y_train"]),
            "n_test": len(data["y_test"]),
            "seed": data["seed"],
        },
        "artifact": {
            "path": model_path.name,
            "format": "joblib (sklearn Pipeline: StandardScaler -> estimator)",
            "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
            "sklearn_version": sklearn.__version__,
        },
        "run_id": run_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    temporary = card_path.with_name(f".{card_path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(temporary, card_path)
    _log("deployed %s to %s (card: %s)", winner["name"], model_path, card_path)
    return {
        "card": str(card_path),
        "model": str(model_path),
        "winner": winner["name"],
        "metrics": winner["metrics"],
    }


# -- the workflow --------------------------------------------------------------------------


@workflow
def ml_pipeline(
    dataset: Dataset = "breast_cancer",
    test_size: float = 0.25,
    seed: int = 42,
    metric: Metric = "f1",
    output_dir: str = "models",
    flaky_attempts: int = 1,
):
    raw = validate(ingest(dataset, flaky_attempts))
    prepared = prepare(raw, test_size=test_size, seed=seed)
    # train_on_gpu[0] ... train_on_gpu[5]: where the machine has no GPU, each runs train (CPU)
    trained = train_on_gpu.map(CONFIGS, data=prepared)
    evaluations = evaluate.map(trained, data=prepared)  # evaluate[0] ... evaluate[5]
    selection = select_best(evaluations, metric=metric)
    return deploy(trained, selection, prepared, output_dir=output_dir)


if __name__ == "__main__":
    started = time.perf_counter()
    result = ml_pipeline.run()
    elapsed = time.perf_counter() - started
    print(f"run {result.run_id}: {result.state} in {elapsed:.1f}s")
    for name, outcome in result.tasks.items():
        print(
            f"  {name:<16} {outcome.state:<10} attempts={outcome.attempts}"
            + (f"  {outcome.error}" if outcome.error else "")
        )
    if not result.ok:
        raise SystemExit(1)
    print(json.dumps(result.result, indent=2))
