"""Content fingerprints, the inputs part of a cache key (model/fingerprint.py).

Equal content gives equal fingerprints in any process and interpreter, whatever the dict
insertion order, the set iteration order or PYTHONHASHSEED; values of different types or
shapes differ; code fingerprints follow a function's source; an input without content (a
generator, a lock, a container inside itself) raises CacheKeyError naming where it is.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import datetime as dt
import enum
import functools
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import tracemalloc
import types
import uuid
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from podium.errors import CacheKeyError
from podium.model.fingerprint import code_fingerprint, fingerprint, fingerprint_arguments


class Color(enum.Enum):
    RED = 1
    GREEN = 2


@dataclasses.dataclass
class Point:
    x: float
    y: float


@dataclasses.dataclass
class Config:
    model: Any
    seed: int = 0


class Settings(pydantic.BaseModel):
    name: str
    sizes: list[int] = []


class Plain:
    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


class Slotted:
    __slots__ = ("__secret", "name")

    def __init__(self, name: str, secret: int) -> None:
        self.name = name
        self.__secret = secret


class Snapshot:
    """Keeps a lock, but says what its state is."""

    def __init__(self, rows: list[int]) -> None:
        self.rows = rows
        self.lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"rows": self.rows}


class Handle:
    """No content of its own; names what it stands for."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.lock = threading.Lock()

    def __podium_fingerprint__(self) -> str:
        return self.uri


def run_python(script: str, *, hashseed: str, path: Path | None = None) -> str:
    """Run ``script`` in a fresh interpreter with this PYTHONHASHSEED; its stdout."""
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def import_file(path: Path, name: str) -> types.ModuleType:
    """Import the file at ``path`` as a new module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- equal content, equal fingerprints; different types, different ones ----------------------


def test_equal_values_give_equal_fingerprints() -> None:
    value = {"rows": [1, 2, 3], "name": "train", "ratio": 0.25, "extra": None}

    assert fingerprint(value) == fingerprint(copy.deepcopy(value))
    assert len(fingerprint(value)) == 64
    assert fingerprint(value) != fingerprint({**value, "ratio": 0.5})


def test_dict_insertion_order_does_not_matter() -> None:
    forward = {"a": 1, "b": [2, 3], "c": {"x": 1, "y": 2}}
    backward = {"c": {"y": 2, "x": 1}, "b": [2, 3], "a": 1}
    mixed_keys = {1: "one", "two": 2, (3,): 3.0}

    assert fingerprint(forward) == fingerprint(backward)
    assert fingerprint(mixed_keys) == fingerprint(dict(reversed(mixed_keys.items())))


def test_an_ordered_dict_keeps_its_order() -> None:
    ordered = collections.OrderedDict([("a", 1), ("b", 2)])

    assert fingerprint(ordered) != fingerprint(collections.OrderedDict([("b", 2), ("a", 1)]))
    assert fingerprint(ordered) != fingerprint(dict(ordered))


def test_one_in_every_type_differs() -> None:
    ones = [1, 1.0, True, "1", b"1", bytearray(b"1"), 1 + 0j, Decimal(1), Fraction(1)]
    ones += [np.int64(1), np.float64(1), [1], (1,), {1}, frozenset({1}), {"1": 1}]

    assert len({fingerprint(one) for one in ones}) == len(ones)


def test_containers_differ_by_kind_and_by_where_items_split() -> None:
    assert fingerprint([1, 2]) != fingerprint((1, 2))
    assert fingerprint(["ab"]) != fingerprint(["a", "b"])
    assert fingerprint([["a"], "b"]) != fingerprint([["a", "b"]])
    assert fingerprint([]) != fingerprint(()) != fingerprint({}) != fingerprint(set())
    assert fingerprint({"a": "bc"}) != fingerprint({"ab": "c"})


def test_nested_structures_are_compared_by_content() -> None:
    def build() -> Any:
        return {
            "layers": [{"units": 64, "activation": "relu"}, {"units": 10, "dropout": 0.1}],
            "optimizer": ("adam", {"lr": 1e-3, "betas": (0.9, 0.999)}),
            "tags": {"baseline", "small"},
        }

    changed = build()
    changed["layers"][1]["dropout"] = 0.2

    assert fingerprint(build()) == fingerprint(build())
    assert fingerprint(build()) != fingerprint(changed)


def test_every_nan_is_one_value_and_signed_zeros_differ() -> None:
    assert fingerprint(float("nan")) == fingerprint(-float("nan")) == fingerprint(float("inf") * 0)
    assert fingerprint(0.0) != fingerprint(-0.0)
    assert fingerprint(2**200) != fingerprint(2**200 + 1) != fingerprint(-(2**200))


def supported_values() -> list[Any]:
    """One fresh value of each supported kind (called twice: equal, not identical)."""
    paris = dt.timezone(dt.timedelta(hours=1), "CET")
    return [
        None,
        range(10),
        slice(1, 5, 2),
        ...,
        memoryview(b"abc"),
        Color.RED,
        Color.GREEN,
        dt.datetime(2024, 5, 1, 12, 30),
        dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
        dt.datetime(2024, 5, 1, 13, 30, tzinfo=paris),
        dt.date(2024, 5, 1),
        dt.time(12, 30),
        dt.timedelta(days=1, seconds=5),
        Decimal("1.10"),
        Decimal("1.1"),
        Fraction(1, 3),
        uuid.UUID(int=7),
        Path("/data/train.csv"),
        PurePosixPath("/data/train.csv"),
        "/data/train.csv",
        collections.deque([1, 2], maxlen=5),
        collections.Counter("hello"),
        Point(1.0, 2.0),
        Point(2.0, 1.0),
        Settings(name="a", sizes=[1, 2]),
        Plain(a=1, b=[2]),
        Slotted("n", 1),
        Snapshot([1, 2]),
        Handle("s3://bucket/key"),
        int,
        Point,
        len,
        str.upper,
        [3, 2, 1].index,
        functools.partial(max, 1),
        np.arange(6).reshape(2, 3),
        np.array(["a", {"k": 1}, None], dtype=object),
        np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
        np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]),
        np.datetime64("2024-05-01"),
        pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
        pd.Series([1.5, 2.5], name="score"),
        pd.Index(["a", "b"]),
        pd.RangeIndex(3),
        pd.Timestamp("2024-05-01 00:00:00.000000001"),
        pd.NaT,
        ValueError("bad row"),
        ValueError("bad column"),
    ]


def test_each_supported_kind_is_fingerprinted_by_content() -> None:
    first, second = supported_values(), supported_values()
    fingerprints = [fingerprint(value) for value in first]

    assert fingerprints == [fingerprint(value) for value in second]
    assert len(set(fingerprints)) == len(fingerprints)


# -- arbitrary objects ------------------------------------------------------------------------


def test_plain_objects_are_their_class_and_attributes() -> None:
    class Other(Plain):
        pass

    assert fingerprint(Plain(a=1, b=2)) == fingerprint(Plain(b=2, a=1))
    assert fingerprint(Plain(a=1)) != fingerprint(Plain(a=2))
    assert fingerprint(Plain(a=1)) != fingerprint(Other(a=1))
    assert fingerprint(Slotted("n", 1)) != fingerprint(Slotted("n", 2))


def test_getstate_and_podium_fingerprint_say_what_counts() -> None:
    assert fingerprint(Snapshot([1])) == fingerprint(Snapshot([1])) != fingerprint(Snapshot([2]))
    assert fingerprint(Handle("a")) == fingerprint(Handle("a")) != fingerprint(Handle("b"))


def test_dataclasses_and_pydantic_models_by_class_and_fields() -> None:
    @dataclasses.dataclass
    class Other:
        x: float
        y: float

    assert fingerprint(Point(1, 2)) != fingerprint(Other(1, 2))
    assert fingerprint(Settings(name="a")) == fingerprint(Settings(name="a"))
    assert fingerprint(Settings(name="a")) != fingerprint(Settings(name="a", sizes=[1]))


def test_builtin_subclasses_add_their_class() -> None:
    Pair = collections.namedtuple("Pair", "left right")

    assert fingerprint(Pair(1, 2)) != fingerprint((1, 2))
    assert fingerprint(collections.defaultdict(list, a=[1])) != fingerprint({"a": [1]})
    assert fingerprint(Color.RED) != fingerprint(1)


def test_functions_by_name_code_and_closure() -> None:
    def make_scaler(factor: float) -> Callable[[float], float]:
        def scale(x: float) -> float:
            return x * factor

        return scale

    def countdown(n: int) -> int:
        return n if n <= 0 else countdown(n - 1)

    assert fingerprint(make_scaler(2)) == fingerprint(make_scaler(2))
    assert fingerprint(make_scaler(2)) != fingerprint(make_scaler(3))
    assert fingerprint(countdown) == fingerprint(countdown)


# -- numpy and pandas -------------------------------------------------------------------------


def test_big_arrays_differing_in_one_element_differ() -> None:
    left = np.zeros(1_000_000)
    right = left.copy()
    right[654_321] = 1e-300

    assert fingerprint(left) == fingerprint(left.copy())
    assert fingerprint(left) != fingerprint(right)


def test_arrays_are_hashed_without_copying_them() -> None:
    array = np.ones(1_000_000)  # 8 MB
    tracemalloc.start()
    try:
        fingerprint(array)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 100_000


def test_the_same_bytes_with_another_dtype_or_shape_differ() -> None:
    array = np.arange(12, dtype=np.int64)

    assert fingerprint(array) != fingerprint(array.view(np.float64))
    assert fingerprint(array) != fingerprint(array.view(np.uint64))
    assert fingerprint(array) != fingerprint(array.reshape(3, 4))
    assert fingerprint(array.reshape(3, 4)) != fingerprint(array.reshape(4, 3))
    assert fingerprint(np.float32(1)) != fingerprint(np.float64(1)) != fingerprint(1.0)


def test_a_non_contiguous_view_equals_its_contiguous_copy() -> None:
    base = np.arange(100.0).reshape(10, 10)
    view = base[::2, 1::3]

    assert not view.flags.c_contiguous
    assert fingerprint(view) == fingerprint(np.ascontiguousarray(view))
    assert fingerprint(base.T) == fingerprint(base.T.copy())


def frame(rows: int = 100_000) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "score": np.linspace(0.0, 1.0, rows),
            "label": [f"row-{n}" for n in range(rows)],
        }
    )


def test_equal_frames_are_equal() -> None:
    assert fingerprint(frame()) == fingerprint(frame())
    assert fingerprint(frame()["score"]) == fingerprint(frame()["score"])


def test_frames_differing_in_one_cell_differ() -> None:
    number, text = frame(), frame()
    number.loc[54_321, "score"] = 2.0
    text.loc[99_999, "label"] = "changed"

    assert len({fingerprint(frame()), fingerprint(number), fingerprint(text)}) == 3


def test_frames_differ_by_labels_index_and_dtypes() -> None:
    base = frame(1_000)
    variants = [
        base.rename(columns={"score": "Score"}),
        base.set_index("id"),
        base.set_axis(base.index + 1),
        base.astype({"id": "int32"}),
        base[["score", "id", "label"]],
        base.T,
    ]

    fingerprints = {fingerprint(base), *(fingerprint(variant) for variant in variants)}
    assert len(fingerprints) == 1 + len(variants)


# -- the same in every process ----------------------------------------------------------------


SAMPLE_MODULE = """
import dataclasses

import numpy as np
import pandas as pd


@dataclasses.dataclass
class Point:
    x: float
    tags: frozenset


def sample():
    return {
        "words": {"alpha", "beta", "gamma", "delta", "epsilon"},
        "frozen": frozenset({"x", "y", "z", "w"}),
        "nested": {"b": 1, "a": [1, 2.5, None], "c": {"k": "v", "j": "u"}},
        "point": Point(1.5, frozenset({"p", "q", "r"})),
        "array": np.arange(12, dtype=np.float32).reshape(3, 4),
        "frame": pd.DataFrame({"name": ["a", "b"], "n": [1, 2]}),
    }
"""


def test_the_same_value_in_processes_with_other_hash_seeds(tmp_path: Path) -> None:
    (tmp_path / "hashseed_sample.py").write_text(SAMPLE_MODULE)
    expected = fingerprint(import_file(tmp_path / "hashseed_sample.py", "hashseed_sample").sample())
    script = (
        "from hashseed_sample import sample\n"
        "from podium.model.fingerprint import fingerprint\n"
        "print(fingerprint(sample()))\n"
    )

    for seed in ("1", "2"):
        assert run_python(script, hashseed=seed, path=tmp_path) == expected


def test_importing_the_module_imports_no_numpy_pandas_or_pydantic() -> None:
    script = (
        "import sys, podium.model.fingerprint\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'pydantic') if m in sys.modules))\n"
    )

    assert run_python(script, hashseed="0") == "[]"


# -- code fingerprints ------------------------------------------------------------------------


PIPELINE_V1 = '''
def train(rows, epochs=3):
    """Fit the model."""
    return [row * epochs for row in rows]
'''
PIPELINE_V2 = PIPELINE_V1.replace("row * epochs", "row * epochs + 1")


def test_code_fingerprint_follows_the_source(tmp_path: Path) -> None:
    (tmp_path / "pipeline_v1.py").write_text(PIPELINE_V1)
    (tmp_path / "pipeline_v2.py").write_text(PIPELINE_V2)
    first = import_file(tmp_path / "pipeline_v1.py", "pipeline_v1_first")
    again = import_file(tmp_path / "pipeline_v1.py", "pipeline_v1_again")
    edited = import_file(tmp_path / "pipeline_v2.py", "pipeline_v2")

    assert first.train is not again.train
    assert code_fingerprint(first.train) == code_fingerprint(again.train)
    assert code_fingerprint(first.train) != code_fingerprint(edited.train)


EXEC_SOURCE = "def scale(x, factor=2):\n    return [x * factor, 'text', 1.5, (lambda y: -y)(x)]\n"


def exec_function(source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    return namespace["scale"]


def test_a_function_without_source_is_fingerprinted_by_its_code() -> None:
    script = (
        "from podium.model.fingerprint import code_fingerprint\n"
        f"namespace = {{}}\nexec({EXEC_SOURCE!r}, namespace)\n"
        "print(code_fingerprint(namespace['scale']))\n"
    )
    expected = code_fingerprint(exec_function(EXEC_SOURCE))

    assert [run_python(script, hashseed=seed) for seed in ("1", "2")] == [expected, expected]
    assert expected != code_fingerprint(exec_function(EXEC_SOURCE.replace("-y", "+y")))


def test_partials_wrappers_and_lambdas() -> None:
    def train(rows: list[int], epochs: int) -> int:
        return sum(rows) * epochs

    @functools.wraps(train)
    def logged(*args: Any, **kwargs: Any) -> int:
        return train(*args, **kwargs)

    double, negate = (lambda x: x * 2), (lambda x: -x)

    assert code_fingerprint(logged) == code_fingerprint(train)
    assert code_fingerprint(functools.partial(train, epochs=1)) != code_fingerprint(train)
    assert code_fingerprint(functools.partial(train, epochs=1)) != code_fingerprint(
        functools.partial(train, epochs=2)
    )
    assert code_fingerprint(double) != code_fingerprint(negate)


def test_a_partial_argument_without_content_names_its_path() -> None:
    with pytest.raises(CacheKeyError) as raised:
        code_fingerprint(functools.partial(max, 1, threading.Lock()))

    assert raised.value.path == "partial.args[1]"


# -- inputs without content -------------------------------------------------------------------


def test_a_generator_deep_inside_names_its_path() -> None:
    rows = (n for n in range(3))

    with pytest.raises(CacheKeyError) as raised:
        fingerprint_arguments(([1, {"rows": rows}],), {}, task="load")

    assert (raised.value.task, raised.value.path) == ("load", "args[0][1]['rows']")
    assert "generator" in raised.value.reason
    assert "args[0][1]['rows']" in str(raised.value)


def test_a_list_that_contains_itself_names_where_the_cycle_closes() -> None:
    loop: list[Any] = [1, "two"]
    loop.append(loop)

    with pytest.raises(CacheKeyError) as raised:
        fingerprint(loop, task="cycle")

    assert raised.value.path == "value[2]"
    assert "contains itself" in raised.value.reason


def test_an_attribute_without_content_names_its_path() -> None:
    with pytest.raises(CacheKeyError) as raised:
        fingerprint_arguments((), {"config": Config(model=threading.Lock())})

    assert raised.value.path == "config.model"
    assert "lock" in raised.value.reason


async def _coroutine() -> None:
    return None


WITHOUT_CONTENT = {
    "generator": lambda: (n for n in range(3)),
    "coroutine": _coroutine,
    "lock": threading.Lock,
    "rlock": threading.RLock,
    "thread": threading.Thread,
    "socket": socket.socket,
    "file": lambda: open(os.devnull),
    "module": lambda: os,
    "object": object,
    "iterator": lambda: iter([1, 2]),
}


@pytest.mark.parametrize("make", WITHOUT_CONTENT.values(), ids=WITHOUT_CONTENT.keys())
def test_things_without_content_are_refused(make: Callable[[], Any]) -> None:
    thing = make()
    try:
        with pytest.raises(CacheKeyError, match="no content"):
            fingerprint({"input": thing}, task="t")
    finally:
        for close in ("close", "detach"):
            if hasattr(thing, close) and not isinstance(thing, types.ModuleType):
                getattr(thing, close)()
                break


# -- one fingerprint per argument -------------------------------------------------------------


def test_fingerprint_arguments_keys_and_what_changes() -> None:
    before = fingerprint_arguments((1, "two"), {"three": [3], "four": {"x": 4}})
    after = fingerprint_arguments((1, "TWO"), {"three": [3], "four": {"x": 4}})

    assert list(before) == ["args[0]", "args[1]", "three", "four"]
    assert before["args[0]"] == fingerprint(1)
    assert before["three"] == fingerprint([3])
    assert [name for name in before if before[name] != after[name]] == ["args[1]"]


# -- properties -------------------------------------------------------------------------------


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=25,
)


@given(json_values)
def test_a_copy_has_the_same_fingerprint_and_a_wrapped_value_another(value: Any) -> None:
    assert fingerprint(value) == fingerprint(copy.deepcopy(value))
    assert fingerprint(value) != fingerprint([value])


@given(st.dictionaries(st.text(max_size=5) | st.integers(), json_values, max_size=6))
def test_a_dict_built_in_another_order_has_the_same_fingerprint(value: dict[Any, Any]) -> None:
    assert fingerprint(value) == fingerprint(dict(reversed(list(value.items()))))
