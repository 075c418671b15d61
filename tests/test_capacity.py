"""What this machine offers, and what the user declares instead.

``detect_capacity`` measures the machine; ``--resources`` text and the settings file declare
amounts (and fake GPU devices) over it; the settings file also holds the process-wide limits.
GPU discovery goes through NVML, faked here where a test needs devices.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podium.engine.resources import Capacity
from podium.errors import SettingsError
from podium.executors import gpu
from podium.runner import capacity as capacity_module
from podium.runner.capacity import (
    Settings,
    available_cpus,
    detect_capacity,
    load_settings,
    parse_resources,
    with_overrides,
)

# -- detection ----------------------------------------------------------------------------------


def test_this_machine_has_cpus_memory_and_the_gpus_nvml_sees() -> None:
    capacity = detect_capacity(max_workers=4)
    assert capacity.slots == 4
    assert capacity.of("cpu") == available_cpus() >= 1
    assert capacity.of("memory_mb") > 0
    assert capacity.gpus == tuple(gpu.gpu_devices() or ())


def test_without_nvml_a_machine_has_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capacity_module, "gpu_devices", lambda: None)
    assert detect_capacity(max_workers=1).gpus == ()


# -- GPU discovery -------------------------------------------------------------------------------


class FakeNVML:
    """The one call of pynvml that device discovery makes."""

    def __init__(self, count: int) -> None:
        self.count = count

    def nvmlDeviceGetCount(self) -> int:
        return self.count


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """NVML sees two devices; CUDA_VISIBLE_DEVICES is unset."""
    monkeypatch.setattr(gpu, "_state", "ready")
    monkeypatch.setattr(gpu, "_init", lambda: FakeNVML(2))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


@pytest.mark.usefixtures("two_gpus")
def test_nvml_devices_are_numbered_from_zero() -> None:
    assert gpu.gpu_devices() == ["0", "1"]


@pytest.mark.usefixtures("two_gpus")
def test_cuda_visible_devices_narrows_the_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert gpu.gpu_devices() == ["1"]


def test_without_nvml_there_is_no_device_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu, "_state", "untried")
    monkeypatch.setattr(gpu, "_init", lambda: None)
    assert gpu.gpu_devices() is None


@pytest.mark.parametrize(
    ("value", "visible"),
    [
        (None, ["0", "1", "2", "3"]),
        ("", []),
        ("2,0", ["2", "0"]),
        (" 1 , 3 ", ["1", "3"]),
        ("0,0,1", ["0", "1"]),
        ("1,7,2", ["1"]),  # CUDA stops at the first index that is not a device
        ("-1", []),
        ("GPU-5f2e,MIG-1a", ["GPU-5f2e", "MIG-1a"]),
    ],
)
def test_cuda_visible_devices_is_read_as_cuda_reads_it(
    value: str | None, visible: list[str]
) -> None:
    assert gpu.visible_devices(4, value) == visible


# -- --resources ----------------------------------------------------------------------------------


def test_resources_text_is_a_list_of_name_amount_pairs() -> None:
    assert parse_resources("gpu=2,memory_mb=16000,licenses=3") == {
        "gpu": 2.0,
        "memory_mb": 16000.0,
        "licenses": 3.0,
    }
    assert parse_resources(" cpu = 0.5 , ") == {"cpu": 0.5}
    assert parse_resources("") == {}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("gpu", "'gpu' is not NAME=AMOUNT"),
        ("gpu=two", "gpu='two': the amount is not a number"),
        ("gpu=1.5", "gpu=1.5: must be a whole number of devices"),
        ("cpu=-1", "cpu=-1: must be a finite number >= 0"),
        ("cpu=inf", "cpu=inf: must be a finite number >= 0"),
        ("cpu=nan", "cpu=nan: must be a finite number >= 0"),
        ("2x=1", "'2x' is not a resource name"),
        ("slots=3", "slots are max_workers"),
        ("cpu=1,cpu=2", "cpu is given twice"),
    ],
)
def test_bad_resources_text_is_refused_naming_the_item(text: str, says: str) -> None:
    with pytest.raises(SettingsError) as refused:
        parse_resources(text, source="--resources")
    assert refused.value.source == "--resources"
    assert says in refused.value.reason


def test_a_refusal_names_where_the_text_came_from() -> None:
    with pytest.raises(SettingsError, match=r"^PODIUM_RESOURCES: "):
        parse_resources("gpu", source="PODIUM_RESOURCES")


# -- overrides ----------------------------------------------------------------------------------


def test_declared_gpus_replace_the_device_list() -> None:
    detected = Capacity(4, {"cpu": 8, "memory_mb": 16000}, ("0",))
    declared = with_overrides(detected, {"gpu": 2, "memory_mb": 8000, "licenses": 3})
    assert declared == Capacity(4, {"cpu": 8, "memory_mb": 8000, "licenses": 3}, ("0", "1"))
    assert detected.gpus == ("0",) and detected.of("licenses") == 0
    assert with_overrides(detected, {"gpu": 0}).gpus == ()
    assert with_overrides(detected, {}) == detected


def test_a_fractional_gpu_count_cannot_be_declared() -> None:
    with pytest.raises(ValueError, match="whole number of devices"):
        with_overrides(Capacity(1, {}), {"gpu": 1.5})


# -- the settings file --------------------------------------------------------------------------

GOOD = """\
[resources]
gpu = 2
memory_mb = 16000.5

[limits.tags]
gpu-train = 1

[limits.rates]
openai = "60/min"
"""


def write_settings(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "settings.toml"
    path.write_text(text)
    return path


def test_the_settings_file_declares_resources_and_limits(tmp_path: Path) -> None:
    write_settings(tmp_path, GOOD)
    assert load_settings(tmp_path) == Settings(
        resources={"gpu": 2.0, "memory_mb": 16000.5},
        tags={"gpu-train": 1},
        rates={"openai": "60/min"},
    )


def test_every_section_is_optional(tmp_path: Path) -> None:
    write_settings(tmp_path, "[limits.rates]\nopenai = '10/s'\n")
    assert load_settings(tmp_path) == Settings(rates={"openai": "10/s"})


def test_no_settings_file_means_no_settings(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "missing") == Settings()
    assert Settings() == Settings(resources={}, tags={}, rates={})


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[resource]\ngpu = 1\n", "unknown key resource"),
        ("[limits.tag]\ngpu-train = 1\n", "unknown key limits.tag"),
        ("resources = 3\n", "resources must be a table"),
        ("[resources]\ngpu = 1.5\n", "resources.gpu=1.5: must be a whole number of devices"),
        ("[resources]\ncpu = 'many'\n", "resources.cpu must be a number"),
        ("[resources]\ncpu = true\n", "resources.cpu must be a number"),
        ("[resources]\ncpu = -2\n", "resources.cpu=-2: must be a finite number >= 0"),
        ("[resources]\n'2x' = 1\n", "resources.'2x' is not a resource name"),
        ("[limits.tags]\ngpu-train = 0\n", "limits.tags.gpu-train must be a whole number >= 1"),
        ("[limits.rates]\nopenai = '60/fortnight'\n", "limits.rates.openai: must be COUNT/UNIT"),
        ("[limits.rates]\nopenai = 60\n", 'limits.rates.openai must be a rate like "60/min"'),
        ("[resources\n", "not valid TOML"),
    ],
)
def test_a_bad_settings_file_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, text: str, says: Any
) -> None:
    path = write_settings(tmp_path, text)
    with pytest.raises(SettingsError) as refused:
        load_settings(tmp_path)
    assert refused.value.source == str(path)
    assert says in refused.value.reason
