"""Resources: what a task may request, and how the pool places and grants requests.

``make_request`` checks a task's ``resources=``. A ``ResourcePool`` grants requests against
a machine's ``Capacity``: never oversubscribing a resource or a GPU device, packing GPU
fractions by best fit, counting exactly, and reserving for a request that has waited too
long so a stream of small requests cannot starve it. Time is a fake clock throughout.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from podium.engine.resources import Capacity, Grant, ResourcePool
from podium.errors import OptionError
from podium.model.resources import STANDARD_RESOURCES, describe_request, make_request

BOUND = 2.0
"""The starvation bound of every pool here, in fake seconds."""


class Clock:
    """A fake monotonic clock: time moves only when a test moves it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def pool_of(
    slots: int = 8, gpus: int = 0, clock: Clock | None = None, **amounts: float
) -> ResourcePool:
    """A pool with ``slots``, ``gpus`` devices "0".."gpus-1" and the given amounts."""
    capacity = Capacity(slots, amounts, tuple(str(i) for i in range(gpus)))
    return ResourcePool(capacity, starvation_bound=BOUND, clock=clock or Clock())


def acquire(pool: ResourcePool, key: str, since: float = 0.0, **request: float) -> Grant | None:
    return pool.try_acquire(key, request, since)


# -- requests ---------------------------------------------------------------------------------


def test_the_standard_resources_are_cpu_memory_and_gpu() -> None:
    assert STANDARD_RESOURCES == ("cpu", "memory_mb", "gpu")


def test_no_request_is_an_empty_request() -> None:
    assert make_request(None, task="train") == {}
    assert make_request({}, task="train") == {}


def test_a_request_is_normalized_to_floats_without_zero_entries() -> None:
    request = make_request(
        {"cpu": 2, "memory_mb": 4000, "gpu": 0.5, "licenses": 0, "x.y-z_1": 1}, task="t"
    )
    assert request == {"cpu": 2.0, "memory_mb": 4000.0, "gpu": 0.5, "x.y-z_1": 1.0}
    assert all(type(amount) is float for amount in request.values())


@pytest.mark.parametrize("gpu", [0.01, 0.5, 1, 1.0, 2, 8.0])
def test_a_gpu_request_is_a_fraction_of_a_device_or_whole_devices(gpu: float) -> None:
    assert make_request({"gpu": gpu}, task="t") == {"gpu": float(gpu)}


@pytest.mark.parametrize(
    ("resources", "key", "says"),
    [
        ({"gpu": 1.5}, "gpu", "a GPU request is a fraction of one device or a whole number"),
        ({"cpu": -1}, "cpu", "finite number >= 0"),
        ({"cpu": float("nan")}, "cpu", "finite number >= 0"),
        ({"memory_mb": float("inf")}, "memory_mb", "finite number >= 0"),
        ({"cpu": True}, "cpu", "must be a number"),
        ({"cpu": "2"}, "cpu", "must be a number"),
        ({"cpu": None}, "cpu", "must be a number"),
        ({"2cpu": 1}, "2cpu", "not a resource name"),
        ({"open ai": 1}, "open ai", "not a resource name"),
        ({"": 1}, "''", "not a resource name"),
        ({7: 1}, "7", "not a resource name"),
        ({"slots": 1}, "slots", "every attempt takes one of max_workers slots"),
    ],
)
def test_an_invalid_request_is_refused_naming_the_task_and_the_key(
    resources: dict[Any, Any], key: str, says: str
) -> None:
    with pytest.raises(OptionError) as refused:
        make_request(resources, task="train")
    assert refused.value.option == "resources"
    assert "'train'" in refused.value.reason
    assert key in refused.value.reason
    assert says in refused.value.reason


def test_a_request_that_is_not_a_mapping_is_refused_naming_the_task() -> None:
    with pytest.raises(OptionError, match="task 'train': must be a mapping"):
        make_request([("cpu", 1)], task="train")  # type: ignore[arg-type]


def test_a_request_is_described_with_sorted_names() -> None:
    assert describe_request({"memory_mb": 4000, "gpu": 0.5, "cpu": 2}) == (
        "cpu=2, gpu=0.5, memory_mb=4000"
    )
    assert describe_request({"memory_mb": 1234567.0}) == "memory_mb=1234567"
    assert describe_request({}) == ""


# -- capacity -----------------------------------------------------------------------------------


def test_capacity_counts_gpus_as_devices_and_undeclared_resources_as_none() -> None:
    capacity = Capacity(4, {"cpu": 8, "memory_mb": 16000}, ("0", "1"))
    assert capacity.of("gpu") == 2
    assert capacity.of("cpu") == 8
    assert capacity.of("slots") == 4
    assert capacity.of("licenses") == 0


@pytest.mark.parametrize(
    "arguments",
    [
        (0, {}, ()),
        (2, {"cpu": -1}, ()),
        (2, {"cpu": float("inf")}, ()),
        (2, {"gpu": 2}, ()),
        (2, {"slots": 2}, ()),
        (2, {}, ("0", "0")),
    ],
)
def test_an_impossible_capacity_is_refused(arguments: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError):
        Capacity(*arguments)


# -- slots and amounts --------------------------------------------------------------------------


def test_every_grant_takes_a_slot() -> None:
    pool = pool_of(slots=2, cpu=4)
    assert acquire(pool, "a") is not None
    assert acquire(pool, "b", cpu=1) is not None
    assert acquire(pool, "c") is None
    assert acquire(pool, "d", cpu=1) is None
    assert pool.used() == {"slots": 2, "gpu": 0, "cpu": 1}


def test_a_request_is_granted_only_while_every_amount_fits() -> None:
    pool = pool_of(cpu=4, memory_mb=8000, licenses=1)
    first = acquire(pool, "a", cpu=3, memory_mb=2000, licenses=1)
    assert first is not None
    assert acquire(pool, "b", cpu=2) is None
    assert acquire(pool, "c", licenses=1) is None
    assert acquire(pool, "d", cpu=1, memory_mb=6000) is not None
    assert pool.used() == {"slots": 2, "gpu": 0, "cpu": 4, "memory_mb": 8000, "licenses": 1}


def test_a_release_gives_back_exactly_what_was_granted() -> None:
    pool = pool_of(gpus=1, cpu=4, memory_mb=8000)
    grant = acquire(pool, "a", cpu=3, memory_mb=2000, gpu=0.5)
    assert grant is not None
    pool.release(grant)
    assert pool.used() == {"slots": 0, "gpu": 0, "cpu": 0, "memory_mb": 0}
    assert acquire(pool, "b", cpu=4, memory_mb=8000, gpu=1) is not None


def test_releasing_a_grant_twice_is_refused() -> None:
    pool = pool_of(cpu=4)
    grant = acquire(pool, "a", cpu=1)
    other = acquire(pool, "b")
    assert grant is not None and other is not None
    pool.release(grant)
    with pytest.raises(ValueError, match="frees more than was taken"):
        pool.release(grant)
    pool.release(other)
    with pytest.raises(ValueError, match="no grant is outstanding"):
        pool.release(other)


def test_amounts_add_up_exactly() -> None:
    pool = pool_of(cpu=1)
    for amount in (0.1, 0.2, 0.7):
        assert acquire(pool, str(amount), cpu=amount) is not None
    assert pool.used()["cpu"] == 1.0
    assert acquire(pool, "more", cpu=0.000001) is None


# -- GPU placement ----------------------------------------------------------------------------


def test_two_half_gpus_share_the_first_device_and_a_third_takes_the_next() -> None:
    pool = pool_of(gpus=2)
    grants = [acquire(pool, key, gpu=0.5) for key in "abc"]
    assert [grant.gpus if grant else None for grant in grants] == [
        (("0", 0.5),),
        (("0", 0.5),),
        (("1", 0.5),),
    ]
    assert pool.used()["gpu"] == 1.5


def test_a_half_gpu_waits_when_the_only_device_is_full() -> None:
    pool = pool_of(gpus=1)
    first, second = acquire(pool, "a", gpu=0.5), acquire(pool, "b", gpu=0.5)
    assert first is not None and second is not None
    assert acquire(pool, "c", gpu=0.5) is None
    pool.release(first)
    third = acquire(pool, "c", gpu=0.5)
    assert third is not None and third.gpu_ids == ("0",)


def test_whole_gpus_take_entirely_free_devices_lowest_ids_first() -> None:
    pool = pool_of(gpus=4)
    shared = acquire(pool, "small", gpu=0.25)
    assert shared is not None and shared.gpu_ids == ("0",)
    pair = acquire(pool, "pair", gpu=2)
    assert pair is not None
    assert pair.gpus == (("1", 1.0), ("2", 1.0))
    assert pair.gpu_ids == ("1", "2")
    assert acquire(pool, "another pair", gpu=2) is None  # 1.75 devices free, one whole
    assert acquire(pool, "one", gpu=1) is not None


def test_a_fraction_goes_to_the_fullest_device_it_fits_on() -> None:
    pool = pool_of(gpus=3)
    assert acquire(pool, "a", gpu=1) is not None  # device 0 full
    assert acquire(pool, "b", gpu=0.5) is not None  # device 1: 0.5 free
    assert acquire(pool, "c", gpu=0.75) is not None  # device 2: 0.25 free
    quarter = acquire(pool, "d", gpu=0.25)
    assert quarter is not None and quarter.gpu_ids == ("2",)
    half = acquire(pool, "e", gpu=0.5)
    assert half is not None and half.gpu_ids == ("1",)


def test_devices_are_ordered_by_number_then_name() -> None:
    pool = ResourcePool(Capacity(8, {}, ("10", "GPU-x", "2")))
    placed = [acquire(pool, key, gpu=1) for key in "abc"]
    assert [grant.gpu_ids if grant else None for grant in placed] == [("2",), ("10",), ("GPU-x",)]


@pytest.mark.parametrize("n", range(1, 13))
def test_n_shares_of_one_nth_fill_exactly_one_device(n: int) -> None:
    pool = pool_of(slots=n + 1, gpus=2)
    grants = [acquire(pool, f"t{i}", gpu=1 / n) for i in range(n + 1)]
    assert [grant.gpu_ids if grant else None for grant in grants] == [("0",)] * n + [("1",)]


# -- what can never fit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "shortfall"),
    [
        ({"cpu": 5.0}, ("cpu", 5.0, 4.0)),
        ({"memory_mb": 9000.0}, ("memory_mb", 9000.0, 8000.0)),
        ({"gpu": 3.0}, ("gpu", 3.0, 2.0)),
        ({"licenses": 1.0}, ("licenses", 1.0, 0.0)),
        ({"cpu": 4.0, "memory_mb": 8000.0, "gpu": 2.0}, None),
        ({"gpu": 0.5}, None),
        ({}, None),
    ],
)
def test_shortfall_names_what_this_machine_could_never_give(
    request_: dict[str, float], shortfall: tuple[str, float, float] | None
) -> None:
    assert pool_of(gpus=2, cpu=4, memory_mb=8000).shortfall(request_) == shortfall


def test_a_gpu_request_on_a_machine_without_gpus_can_never_fit() -> None:
    assert pool_of(cpu=4).shortfall({"gpu": 0.1}) == ("gpu", 0.1, 0.0)


# -- starvation -----------------------------------------------------------------------------


def test_a_request_refused_within_the_bound_reserves_nothing() -> None:
    clock = Clock(now=BOUND)
    pool = pool_of(cpu=4, clock=clock)
    assert acquire(pool, "small", cpu=1) is not None
    assert acquire(pool, "big", since=0.0, cpu=4) is None
    assert pool.reserved_for is None
    clock.now = BOUND + 0.1
    assert acquire(pool, "big", since=0.0, cpu=4) is None
    assert pool.reserved_for == "big"


def test_a_request_that_can_never_fit_is_never_reserved() -> None:
    pool = pool_of(cpu=4, clock=Clock(now=100.0))
    assert acquire(pool, "huge", since=0.0, cpu=5) is None
    assert pool.reserved_for is None


def test_the_first_starved_refusal_holds_the_reservation() -> None:
    pool = pool_of(cpu=2, clock=Clock(now=100.0))
    assert acquire(pool, "running", cpu=2) is not None
    assert acquire(pool, "first", since=50.0, cpu=2) is None
    assert acquire(pool, "older", since=0.0, cpu=2) is None
    assert pool.reserved_for == "first"


def test_a_big_request_starts_once_what_was_running_ends_despite_small_ones() -> None:
    clock = Clock()
    pool = pool_of(cpu=4, clock=clock)
    running = [acquire(pool, f"small{i}", cpu=1) for i in range(4)]
    clock.now = 10.0
    assert acquire(pool, "big", since=0.0, cpu=4) is None
    assert pool.reserved_for == "big"
    for i, grant in enumerate(running):
        assert acquire(pool, f"newcomer{i}", since=clock.now, cpu=1) is None
        assert grant is not None
        pool.release(grant)
    big = acquire(pool, "big", since=0.0, cpu=4)
    assert big is not None
    assert pool.reserved_for is None


def test_beside_a_reservation_others_take_only_what_it_does_not_lack() -> None:
    pool = pool_of(slots=8, cpu=4, memory_mb=1000, licenses=2, clock=Clock(now=10.0))
    cpus = acquire(pool, "cpus", cpu=4)
    assert cpus is not None
    assert acquire(pool, "big", since=0.0, cpu=4, memory_mb=500) is None
    assert pool.reserved_for == "big"
    assert acquire(pool, "needs cpu", cpu=0.5) is None  # big is short of cpu
    assert acquire(pool, "leaves enough memory", memory_mb=400) is not None
    assert acquire(pool, "would leave too little", memory_mb=200) is None
    assert acquire(pool, "unrelated", licenses=2) is not None
    assert acquire(pool, "slot only") is not None
    pool.release(cpus)
    assert acquire(pool, "big", since=0.0, cpu=4, memory_mb=500) is not None


def test_beside_a_reservation_the_last_free_slot_is_kept_for_it() -> None:
    pool = pool_of(slots=3, cpu=4, clock=Clock(now=10.0))
    cpus = acquire(pool, "cpus", cpu=4)
    assert cpus is not None
    assert acquire(pool, "big", since=0.0, cpu=2) is None
    assert acquire(pool, "slot only") is not None
    assert acquire(pool, "another slot") is None
    pool.release(cpus)
    assert acquire(pool, "big", since=0.0, cpu=2) is not None


def test_beside_a_gpu_reservation_fractions_must_leave_it_a_place() -> None:
    pool = pool_of(gpus=2, clock=Clock(now=10.0))
    half = acquire(pool, "half", gpu=0.5)
    assert half is not None
    assert acquire(pool, "pair", since=0.0, gpu=2) is None
    assert pool.reserved_for == "pair"
    assert acquire(pool, "another half", gpu=0.5) is None  # pair is short of GPUs
    pool.release(half)
    pair = acquire(pool, "pair", since=0.0, gpu=2)
    assert pair is not None and pair.gpu_ids == ("0", "1")


def test_a_forgotten_reservation_lets_others_through() -> None:
    pool = pool_of(cpu=2, clock=Clock(now=10.0))
    assert acquire(pool, "running", cpu=1) is not None
    assert acquire(pool, "big", since=0.0, cpu=2) is None
    assert acquire(pool, "small", since=10.0, cpu=1) is None
    pool.forget("someone else")
    assert pool.reserved_for == "big"
    pool.forget("big")
    assert pool.reserved_for is None
    assert acquire(pool, "small", since=10.0, cpu=1) is not None


# -- properties over random capacities and requests ---------------------------------------------
# Requests are drawn as exact Fractions and handed to the pool as floats (1/3 as
# 0.3333333333333333): the pool must count them as the Fractions they stand for.

Request = dict[str, Fraction]

SHARES = st.integers(2, 12).flatmap(lambda d: st.integers(1, d - 1).map(lambda n: Fraction(n, d)))


@st.composite
def capacities(draw: Any) -> Capacity:
    amounts = {
        "cpu": draw(st.integers(0, 8)),
        "memory_mb": draw(st.sampled_from([0, 1000, 16000])),
        "licenses": draw(st.integers(0, 3)),
    }
    gpus = tuple(str(i) for i in range(draw(st.integers(0, 3))))
    return Capacity(draw(st.integers(1, 6)), amounts, gpus)


@st.composite
def requests(draw: Any) -> Request:
    """A request of up to three resources; it may ask for more than a machine has."""
    options = {
        "cpu": st.builds(Fraction, st.integers(1, 10), st.sampled_from([1, 2, 3, 10])),
        "memory_mb": st.sampled_from([100, 500, 1000, 4000]).map(Fraction),
        "licenses": st.integers(1, 2).map(Fraction),
        "gpu": st.one_of(SHARES, st.integers(1, 3).map(Fraction)),
    }
    names = draw(st.lists(st.sampled_from(sorted(options)), unique=True, max_size=3))
    return {name: draw(options[name]) for name in names}


def within(capacity: Capacity, request: Request) -> Request:
    """``request`` cut down to what ``capacity`` could give (so it has no shortfall)."""
    cut = {name: min(amount, Fraction(capacity.of(name))) for name, amount in request.items()}
    return {name: amount for name, amount in cut.items() if amount}


def floats(request: Request) -> dict[str, float]:
    return {name: float(amount) for name, amount in request.items()}


Held = list[tuple[Grant, Request]]
"""Outstanding grants, each with the exact request it was granted for."""


def device_free(capacity: Capacity, held: Held) -> dict[str, Fraction]:
    """Each device's free share, counted by the test from the grants outstanding."""
    free = {device: Fraction(1) for device in capacity.gpus}
    for grant, request in held:
        for device, share in grant.gpus:
            free[device] -= 1 if request["gpu"] >= 1 else request["gpu"]
            assert share == float(min(request["gpu"], Fraction(1)))
    return free


def expected_devices(capacity: Capacity, held: Held, gpu: Fraction) -> tuple[str, ...] | None:
    """Where the test expects ``gpu`` to go: whole devices lowest first; a fraction on the
    fullest device it fits on, lowest id on a tie. None: it cannot go anywhere now."""
    free = device_free(capacity, held)
    if gpu >= 1:
        idle = [device for device in capacity.gpus if free[device] == 1]
        return tuple(idle[: int(gpu)]) if len(idle) >= gpu else None
    fitting = [device for device in capacity.gpus if free[device] >= gpu]
    return (min(fitting, key=lambda device: free[device]),) if fitting else None


def fits(capacity: Capacity, held: Held, request: Request) -> bool:
    """Whether ``request`` fits beside the ``held`` grants, counted by the test."""
    if len(held) >= capacity.slots:
        return False
    for name, amount in request.items():
        if name != "gpu":
            taken = sum((exact.get(name, Fraction(0)) for _, exact in held), Fraction(0))
            if taken + amount > Fraction(capacity.of(name)):
                return False
    return "gpu" not in request or expected_devices(capacity, held, request["gpu"]) is not None


class PoolMachine(RuleBasedStateMachine):
    """Tasks arrive, wait, retry, are cancelled and finish in an order hypothesis picks, on a
    random machine; the test counts, exactly, what the pool should have granted."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.held: dict[str, tuple[Grant, Request]] = {}
        self.waiting: dict[str, tuple[Request, float]] = {}
        self.arrivals = 0

    @initialize(capacity=capacities(), first=st.lists(requests(), min_size=1, max_size=6))
    def machine(self, capacity: Capacity, first: list[Request]) -> None:
        self.capacity = capacity
        self.pool = ResourcePool(capacity, starvation_bound=BOUND, clock=self.clock)
        for request in first:
            self.arrive(request, age=0.0)

    @rule(request=requests(), age=st.sampled_from([0.0, 1.0, 3.0]))
    def arrive(self, request: Request, age: float) -> None:
        self.arrivals += 1
        self.attempt(f"t{self.arrivals}", request, self.clock.now - age)

    @precondition(lambda self: self.waiting)
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.waiting)))
        self.attempt(key, *self.waiting[key])

    @precondition(lambda self: self.waiting)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.waiting)))
        del self.waiting[key]
        self.pool.forget(key)
        assert self.pool.reserved_for != key

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.held)))
        grant, _ = self.held.pop(key)
        self.pool.release(grant)

    @rule(seconds=st.sampled_from([0.5, 1.0, 5.0]))
    def tick(self, seconds: float) -> None:
        self.clock.now += seconds

    def attempt(self, key: str, request: Request, since: float) -> None:
        held = list(self.held.values())
        reserved = self.pool.reserved_for
        grant = self.pool.try_acquire(key, floats(request), since)
        if grant is None:
            self.waiting[key] = (request, since)
            if reserved in (None, key):  # no reservation stands in its way: it does not fit
                assert not fits(self.capacity, held, request)
            return
        assert fits(self.capacity, held, request)
        assert grant.request == floats(request)
        if "gpu" in request:
            assert grant.gpu_ids == expected_devices(self.capacity, held, request["gpu"])
        else:
            assert grant.gpus == ()
        self.waiting.pop(key, None)
        self.held[key] = (grant, request)
        if reserved == key:
            assert self.pool.reserved_for is None

    @invariant()
    def never_oversubscribed(self) -> None:
        held = list(self.held.values())
        assert len(held) <= self.capacity.slots
        used = {"slots": float(len(held))}
        for name in self.capacity.amounts:
            taken = sum((exact.get(name, Fraction(0)) for _, exact in held), Fraction(0))
            assert taken <= Fraction(self.capacity.of(name))
            used[name] = float(taken)
        free = device_free(self.capacity, held)
        assert all(0 <= share <= 1 for share in free.values())
        used["gpu"] = float(sum(1 - share for share in free.values()))
        assert self.pool.used() == used

    @invariant()
    def only_a_waiting_task_holds_the_reservation(self) -> None:
        reserved = self.pool.reserved_for
        assert reserved is None or reserved in self.waiting
        if reserved is not None:
            request, since = self.waiting[reserved]
            assert self.pool.shortfall(floats(request)) is None
            assert self.clock.now - since > BOUND


PoolMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestPoolNeverOversubscribes = PoolMachine.TestCase


@settings(max_examples=200, deadline=None)
@given(capacity=capacities(), data=st.data())
def test_a_starved_request_starts_once_what_ran_when_it_was_reserved_has_ended(
    capacity: Capacity, data: st.DataObject
) -> None:
    clock = Clock()
    pool = ResourcePool(capacity, starvation_bound=BOUND, clock=clock)
    possible = requests().map(lambda request: within(capacity, request))
    offered = [name for name in ("cpu", "memory_mb", "licenses", "gpu") if capacity.of(name)]
    all_of_one = st.sampled_from(offered or ["cpu"]).map(
        lambda name: {name: Fraction(capacity.of(name))} if offered else {}
    )
    running = []
    for i, request in enumerate(data.draw(st.lists(possible, min_size=1, max_size=8))):
        grant = pool.try_acquire(f"early{i}", floats(request), clock.now)
        if grant is not None:
            running.append(grant)
    big = floats(data.draw(possible) | data.draw(st.one_of(all_of_one, st.just({}))))
    clock.now = 10.0
    granted = pool.try_acquire("big", big, 0.0)
    if granted is not None:
        return  # it fitted at once: nothing to starve
    assert pool.reserved_for == "big"
    arrivals = 0
    for grant in data.draw(st.permutations(running)):
        for request in data.draw(st.lists(possible, max_size=4)):
            arrivals += 1  # small ones keep arriving, and those granted never finish
            since = data.draw(st.sampled_from([clock.now, 0.0]))
            pool.try_acquire(f"small{arrivals}", floats(request), since)
        clock.now += 1.0
        pool.release(grant)
        granted = pool.try_acquire("big", big, 0.0)
        if granted is not None:
            break
    assert granted is not None
    assert pool.reserved_for is None


@settings(max_examples=100, deadline=None)
@given(shares=st.lists(SHARES, min_size=1, max_size=30))
def test_fractions_pack_by_best_fit_and_add_up_exactly(shares: list[Fraction]) -> None:
    pool = pool_of(slots=len(shares), gpus=len(shares))
    free: dict[str, Fraction] = {}  # devices in use so far -> their free share
    for i, share in enumerate(shares):
        grant = pool.try_acquire(f"t{i}", {"gpu": float(share)}, 0.0)
        assert grant is not None  # one device per share would always do
        (device,) = grant.gpu_ids
        fitting = [left for left in free.values() if left >= share]
        if device in free:
            assert free[device] == min(fitting)
        else:
            assert not fitting  # a fresh device only when no device in use has room
        free[device] = free.get(device, Fraction(1)) - share
        assert free[device] >= 0
    assert pool.used()["gpu"] == float(sum(shares))


@settings(max_examples=100, deadline=None)
@given(
    devices=st.integers(1, 4),
    steps=st.lists(st.one_of(SHARES, st.integers(1, 2).map(Fraction), st.none()), max_size=40),
    data=st.data(),
)
def test_gpus_go_where_the_placement_rules_say(
    devices: int, steps: list[Fraction | None], data: st.DataObject
) -> None:
    """Each step asks for a share or whole devices, or (None) ends a running attempt."""
    capacity = Capacity(64, {}, tuple(str(i) for i in range(devices)))
    pool = ResourcePool(capacity, clock=Clock())  # never past the bound: nothing reserved
    held: Held = []
    for i, gpu in enumerate(steps):
        if gpu is None:
            if held:
                ended, _ = held.pop(data.draw(st.integers(0, len(held) - 1)))
                pool.release(ended)
            continue
        expected = expected_devices(capacity, held, gpu)
        grant = pool.try_acquire(f"t{i}", {"gpu": float(gpu)}, 0.0)
        assert (grant.gpu_ids if grant else None) == expected
        if grant is not None:
            held.append((grant, {"gpu": gpu}))
