"""What tokens cost per month: an API's bill, your own machine's, and where the two cross.

One cost model for a local option (:class:`LocalSetup`): a day's cost is a fixed part
(hardware paid off over its life, idle power, maintenance time, rent of an always-on
server) plus a part per busy machine-hour (power above idle, rent by the hour). The
monthly bill and the break-even point both come from :meth:`LocalSetup.cost_per_day`.
Every function is plain arithmetic a learner can check by hand.
Introduced in notebooks/05_local_vs_cloud.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from labkit.tradeoffs.data import (
    DAYS_PER_MONTH,
    CloudPrice,
    HardwareProfile,
    _check_non_negative,
    _check_share,
)

# ---------------------------------------------------------------------------------------------
# Cloud
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CloudCost:
    """A month of API spending split into its parts (USD).

    Introduced in notebooks/05_local_vs_cloud.
    """

    input_cost: float
    cached_input_cost: float
    output_cost: float
    total: float
    tokens_per_month: float
    per_million_tokens: float


def cloud_cost_per_month(
    input_tokens_per_day: float,
    output_tokens_per_day: float,
    input_price_per_m: float,
    output_price_per_m: float,
    *,
    cached_share: float = 0.0,
    cached_input_price_per_m: float | None = None,
    batch_discount: float = 0.0,
    days_per_month: float = DAYS_PER_MONTH,
) -> CloudCost:
    """What an API bills per month: tokens × list price, with cache and batch discounts.

    ``cached_share`` of the input tokens is billed at ``cached_input_price_per_m`` (a repeated system
    prompt or document hits the provider's prompt cache); ``batch_discount`` (0.5 = half price) is
    then taken off everything, as batch APIs do for work that can wait up to a day.

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_non_negative(input_tokens_per_day=input_tokens_per_day, output_tokens_per_day=output_tokens_per_day,
                        input_price_per_m=input_price_per_m, output_price_per_m=output_price_per_m,
                        cached_input_price_per_m=cached_input_price_per_m, days_per_month=days_per_month)
    _check_share(cached_share=cached_share, batch_discount=batch_discount)
    if cached_share > 0 and cached_input_price_per_m is None:
        raise ValueError("cached_share > 0 needs cached_input_price_per_m (see the cached_input_per_m column).")
    keep = 1.0 - batch_discount
    input_tokens = input_tokens_per_day * days_per_month
    output_tokens = output_tokens_per_day * days_per_month
    input_cost = input_tokens * (1 - cached_share) * input_price_per_m / 1e6 * keep
    cached_cost = input_tokens * cached_share * (cached_input_price_per_m or 0.0) / 1e6 * keep
    output_cost = output_tokens * output_price_per_m / 1e6 * keep
    total = input_cost + cached_cost + output_cost
    tokens = input_tokens + output_tokens
    return CloudCost(input_cost, cached_cost, output_cost, total, tokens, total / tokens * 1e6 if tokens else 0.0)


def cloud_cost_for(price: CloudPrice, input_tokens_per_day: float, output_tokens_per_day: float, *,
                   cached_share: float = 0.0, batch: bool = False,
                   days_per_month: float = DAYS_PER_MONTH) -> CloudCost:
    """``cloud_cost_per_month`` with the prices and discounts taken from a ``CloudPrice`` row.

    Introduced in notebooks/05_local_vs_cloud.
    """
    return cloud_cost_per_month(
        input_tokens_per_day, output_tokens_per_day, price.input_per_m, price.output_per_m,
        cached_share=cached_share,
        cached_input_price_per_m=price.cached_input_per_m if price.cached_input_per_m is not None else price.input_per_m,
        batch_discount=price.batch_discount if batch else 0.0, days_per_month=days_per_month,
    )


# ---------------------------------------------------------------------------------------------
# Local
# ---------------------------------------------------------------------------------------------

UPKEEP_HOURS_PER_MONTH = 4.0
"""The course's default upkeep of one local setup: about an hour a week for updates, model pulls,
restarts and watching it. An assumption, not a measurement: put in your own."""

UPKEEP_USD_PER_HOUR = 50.0
"""What an hour of that upkeep costs (your time or an engineer's). An assumption: put in your own."""


@dataclass(frozen=True)
class LocalSetup:
    """A local option: the machine(s), their power and price, the people who look after them.

    ``hardware_price`` is paid off over ``lifetime_years``, used or not (that is why utilisation
    matters); power is ``power_watts`` while busy and ``idle_watts`` the rest of the day (0 =
    switched off); maintenance is your time (updates, restarts) × an hourly rate; ``rent_per_hour``
    is for a rented GPU server, per busy hour, or 24 h a day per machine when ``always_on``.

    Introduced in notebooks/05_local_vs_cloud.
    """

    hardware_price: float = 0.0
    lifetime_years: float = 3.0
    power_watts: float = 0.0
    idle_watts: float = 0.0
    electricity_per_kwh: float = 0.15
    maintenance_hours_per_month: float = 0.0
    hourly_rate: float = 0.0
    rent_per_hour: float = 0.0
    always_on: bool = False
    machines: int = 1
    days_per_month: float = DAYS_PER_MONTH

    def __post_init__(self) -> None:
        _check_non_negative(hardware_price=self.hardware_price, power_watts=self.power_watts,
                            idle_watts=self.idle_watts, electricity_per_kwh=self.electricity_per_kwh,
                            maintenance_hours_per_month=self.maintenance_hours_per_month,
                            hourly_rate=self.hourly_rate, rent_per_hour=self.rent_per_hour)
        if self.machines < 1:
            raise ValueError("machines must be at least 1.")
        if self.idle_watts > self.power_watts:
            raise ValueError("idle_watts cannot exceed power_watts (the draw while generating).")
        if self.hardware_price and self.lifetime_years <= 0:
            raise ValueError("lifetime_years must be positive when hardware_price is set (3 years is a common choice).")

    @classmethod
    def from_profile(cls, profile: HardwareProfile, **overrides: float) -> LocalSetup:
        """The setup of a row of ``hardware_profiles.csv`` (price, power, life, rent), then ``overrides``."""
        base = cls(hardware_price=profile.price_usd, lifetime_years=profile.lifetime_years or 3.0,
                   power_watts=profile.power_w, idle_watts=profile.idle_w, rent_per_hour=profile.rent_per_hour_usd)
        return replace(base, **overrides)

    def cost_per_day(self, busy_hours: float) -> dict[str, float]:
        """USD per day, part by part, when the machines work ``busy_hours`` hours in total."""
        kwh = self.electricity_per_kwh
        return {
            "hardware": self.machines * self.hardware_price / (self.lifetime_years * 365) if self.hardware_price else 0.0,
            "electricity": (self.machines * self.idle_watts * 24 + (self.power_watts - self.idle_watts) * busy_hours)
            / 1000 * kwh,
            "rent": self.rent_per_hour * (24 * self.machines if self.always_on else busy_hours),
            "maintenance": self.maintenance_hours_per_month * self.hourly_rate / self.days_per_month,
        }


@dataclass(frozen=True)
class LocalCost:
    """A month of running a model on your own (or rented) machine, split into its parts (USD).

    ``busy_hours_per_day`` is how long the machine(s) must work to produce the tokens;
    ``utilisation`` is that time as a share of the day (per machine).

    Introduced in notebooks/05_local_vs_cloud.
    """

    hardware: float
    electricity: float
    rent: float
    maintenance: float
    total: float
    busy_hours_per_day: float
    utilisation: float
    tokens_per_month: float
    per_million_tokens: float


def busy_hours_per_day(input_tokens_per_day: float, output_tokens_per_day: float, *,
                       prefill_tokens_per_s: float, decode_tokens_per_s: float) -> float:
    """Hours of machine time to read the prompts (prefill) and write the answers (decode) each day.

    Prefill runs in parallel and is much faster than decode, so input and output are timed separately.

    Introduced in notebooks/05_local_vs_cloud.
    """
    if prefill_tokens_per_s <= 0 or decode_tokens_per_s <= 0:
        raise ValueError("prefill_tokens_per_s and decode_tokens_per_s must be positive (measure them with labkit.measure.bench).")
    _check_non_negative(input_tokens_per_day=input_tokens_per_day, output_tokens_per_day=output_tokens_per_day)
    seconds = input_tokens_per_day / prefill_tokens_per_s + output_tokens_per_day / decode_tokens_per_s
    return seconds / 3600


def local_cost_per_month(input_tokens_per_day: float, output_tokens_per_day: float, *, prefill_tokens_per_s: float,
                         decode_tokens_per_s: float, setup: LocalSetup = LocalSetup()) -> LocalCost:
    """What serving the same tokens yourself costs per month, part by part.

    Speeds are single-machine figures you measured (``labkit.measure.bench``) or estimated
    (``decode_ceiling``). Introduced in notebooks/05_local_vs_cloud.
    """
    busy = busy_hours_per_day(input_tokens_per_day, output_tokens_per_day,
                              prefill_tokens_per_s=prefill_tokens_per_s, decode_tokens_per_s=decode_tokens_per_s)
    if busy > 24 * setup.machines:
        raise ValueError(f"{busy:.1f} busy hours a day do not fit on {setup.machines} machine(s): "
                         f"use machines={math.ceil(busy / 24)} or see machines_needed().")
    parts = {name: value * setup.days_per_month for name, value in setup.cost_per_day(busy).items()}
    total = sum(parts.values())
    tokens = (input_tokens_per_day + output_tokens_per_day) * setup.days_per_month
    return LocalCost(parts["hardware"], parts["electricity"], parts["rent"], parts["maintenance"], total, busy,
                     busy / (24 * setup.machines), tokens, total / tokens * 1e6 if tokens else math.inf)


def local_cost_per_million(*, tokens_per_s: float, utilisation: float, setup: LocalSetup = LocalSetup()) -> float:
    """USD per million generated tokens on one machine that generates ``utilisation`` of the day.

    ``utilisation`` is the share of the day spent generating (2 h a day = 2/24). The fixed part
    of :meth:`LocalSetup.cost_per_day` (the hardware above all) is why a rarely used machine makes
    expensive tokens: a $1,500 laptop over 3 years at 2 h/day and 8 tok/s costs about $24 per
    million tokens before any electricity.

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_share(utilisation=utilisation)
    if tokens_per_s <= 0:
        raise ValueError("tokens_per_s must be positive.")
    busy = 24 * utilisation * setup.machines
    per_day = sum(setup.cost_per_day(busy).values())
    tokens_per_day = tokens_per_s * 3600 * busy
    if tokens_per_day == 0:
        return math.inf if per_day > 0 else 0.0
    return per_day / tokens_per_day * 1e6


# ---------------------------------------------------------------------------------------------
# Break-even
# ---------------------------------------------------------------------------------------------

def break_even_tokens_per_day(*, input_price_per_m: float, output_price_per_m: float, prefill_tokens_per_s: float,
                              decode_tokens_per_s: float, input_share: float = 0.75,
                              setup: LocalSetup = LocalSetup()) -> float:
    """Tokens per day (input + output) above which the local option is cheaper than the API.

    The local cost per day is a straight line in busy hours, ``fixed + slope × hours``
    (:meth:`LocalSetup.cost_per_day` at 0 and at 1 hour); the API costs tokens × blended price.
    Where those lines cross is the break-even. Returns ``math.inf`` when the local option never
    wins (each local token costs more than an API token). ``input_share`` is the share of tokens
    that are input (0.75 = the common 3:1 input:output mix). The answer may exceed what one
    machine can produce in a day: compare it with ``max_tokens_per_day``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_share(input_share=input_share)
    fixed = sum(setup.cost_per_day(0.0).values())
    per_busy_hour = sum(setup.cost_per_day(1.0).values()) - fixed
    cloud_per_token = (input_share * input_price_per_m + (1 - input_share) * output_price_per_m) / 1e6
    hours_per_token = busy_hours_per_day(input_share, 1 - input_share, prefill_tokens_per_s=prefill_tokens_per_s,
                                         decode_tokens_per_s=decode_tokens_per_s)
    margin = cloud_per_token - hours_per_token * per_busy_hour
    if margin <= 0:
        return math.inf
    return fixed / margin


def max_tokens_per_day(*, prefill_tokens_per_s: float, decode_tokens_per_s: float, input_share: float = 0.75,
                       machines: int = 1) -> float:
    """The most tokens (input + output, in the given mix) the machines can handle in 24 h of work.

    Introduced in notebooks/05_local_vs_cloud.
    """
    hours_per_token = busy_hours_per_day(input_share, 1 - input_share, prefill_tokens_per_s=prefill_tokens_per_s,
                                         decode_tokens_per_s=decode_tokens_per_s)
    return 24 * machines / hours_per_token
