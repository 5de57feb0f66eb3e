"""Local vs cloud trade-offs as plain arithmetic: cost, break-even, scaling, latency, privacy.

Every function here is pure: numbers in, numbers (or small dataclasses) out, so a learner can
check each result by hand and the widgets can stay thin skins over them. Inputs that change
over time (API prices, hardware, electricity) live in editable CSV files under ``data/``, each
row with a ``source`` and a ``date``. Edit those files when prices move; the code stays the same.

Introduced in notebooks/05_local_vs_cloud.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
"""Folder holding the editable CSV files (cloud_prices.csv, hardware_profiles.csv, electricity.csv)."""

DAYS_PER_MONTH = 365 / 12
"""An average month (30.42 days), so that 12 months of costs add up to one year of hardware life."""

HOURS_PER_YEAR = 365 * 24


# ---------------------------------------------------------------------------------------------
# Data files
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CloudPrice:
    """One API model's list prices (USD per million tokens) and, where known, speed and limits.

    ``cached_input_per_m`` is the price of input tokens served from the provider's prompt cache;
    ``batch_discount`` is the share taken off when requests go through a batch API (0.5 = half price).
    ``ttft_s``, ``output_tokens_per_s``, ``rpm_limit`` and ``tpm_limit`` are ``None`` where no
    dated figure was found.

    Introduced in notebooks/05_local_vs_cloud.
    """

    provider: str
    model: str
    input_per_m: float
    output_per_m: float
    cached_input_per_m: float | None
    batch_discount: float
    ttft_s: float | None
    output_tokens_per_s: float | None
    rpm_limit: float | None
    tpm_limit: float | None
    source: str
    date: str


@dataclass(frozen=True)
class HardwareProfile:
    """A machine that could run a model: memory, bandwidth (decode speed ceiling), power, price.

    A rented server has ``price_usd`` 0 and a ``rent_per_hour_usd`` that already includes power.

    Introduced in notebooks/05_local_vs_cloud.
    """

    name: str
    kind: str
    device: str
    memory_gb: float
    memory_bandwidth_gbs: float
    power_w: float
    idle_w: float
    price_usd: float
    rent_per_hour_usd: float
    lifetime_years: float
    source: str
    date: str


@dataclass(frozen=True)
class ElectricityPrice:
    """A price of electricity in USD per kWh for a region or a scenario.

    Introduced in notebooks/05_local_vs_cloud.
    """

    region: str
    usd_per_kwh: float
    source: str
    date: str


def _optional_float(text: str) -> float | None:
    text = text.strip()
    return float(text) if text else None


def _read_rows(path: Path, required: list[str]) -> list[dict[str, str]]:
    """Read a CSV file into dicts and check that the needed columns are there."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: pass the path of your own copy, or restore it from the kit's data/ folder.")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} lacks the column(s) {missing}; its header must contain {required}.")
        rows = list(reader)
    for number, row in enumerate(rows, start=2):
        if not row["source"].strip() or not row["date"].strip():
            raise ValueError(f"{path} line {number}: every row needs a source and a date, so figures can be checked.")
    return rows


def load_cloud_prices(path: str | Path | None = None) -> list[CloudPrice]:
    """Read ``data/cloud_prices.csv`` (or your edited copy) into a list of ``CloudPrice``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    columns = ["provider", "model", "input_per_m", "output_per_m", "cached_input_per_m", "batch_discount",
               "ttft_s", "output_tokens_per_s", "rpm_limit", "tpm_limit", "source", "date"]
    rows = _read_rows(Path(path) if path else DATA_DIR / "cloud_prices.csv", columns)
    return [
        CloudPrice(
            provider=row["provider"], model=row["model"],
            input_per_m=float(row["input_per_m"]), output_per_m=float(row["output_per_m"]),
            cached_input_per_m=_optional_float(row["cached_input_per_m"]),
            batch_discount=_optional_float(row["batch_discount"]) or 0.0,
            ttft_s=_optional_float(row["ttft_s"]), output_tokens_per_s=_optional_float(row["output_tokens_per_s"]),
            rpm_limit=_optional_float(row["rpm_limit"]), tpm_limit=_optional_float(row["tpm_limit"]),
            source=row["source"], date=row["date"],
        )
        for row in rows
    ]


def load_hardware_profiles(path: str | Path | None = None) -> list[HardwareProfile]:
    """Read ``data/hardware_profiles.csv`` into a list of ``HardwareProfile``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    columns = ["name", "kind", "device", "memory_gb", "memory_bandwidth_gbs", "power_w", "idle_w", "price_usd",
               "rent_per_hour_usd", "lifetime_years", "source", "date"]
    rows = _read_rows(Path(path) if path else DATA_DIR / "hardware_profiles.csv", columns)
    return [
        HardwareProfile(
            name=row["name"], kind=row["kind"], device=row["device"],
            memory_gb=float(row["memory_gb"]), memory_bandwidth_gbs=float(row["memory_bandwidth_gbs"]),
            power_w=float(row["power_w"]), idle_w=float(row["idle_w"] or 0), price_usd=float(row["price_usd"] or 0),
            rent_per_hour_usd=float(row["rent_per_hour_usd"] or 0), lifetime_years=float(row["lifetime_years"] or 0),
            source=row["source"], date=row["date"],
        )
        for row in rows
    ]


def load_electricity(path: str | Path | None = None) -> list[ElectricityPrice]:
    """Read ``data/electricity.csv`` into a list of ``ElectricityPrice``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    rows = _read_rows(Path(path) if path else DATA_DIR / "electricity.csv", ["region", "usd_per_kwh", "source", "date"])
    return [ElectricityPrice(row["region"], float(row["usd_per_kwh"]), row["source"], row["date"]) for row in rows]


def _by_name(items: list, name: str, field: str, what: str):
    for item in items:
        if getattr(item, field) == name:
            return item
    known = ", ".join(getattr(item, field) for item in items)
    raise KeyError(f"no {what} named {name!r}; known: {known}")


def cloud_price(model: str, path: str | Path | None = None) -> CloudPrice:
    """The ``CloudPrice`` row for one API model name, e.g. ``cloud_price("gpt-4o-mini")``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    return _by_name(load_cloud_prices(path), model, "model", "cloud model")


def hardware_profile(name: str, path: str | Path | None = None) -> HardwareProfile:
    """The ``HardwareProfile`` row for one name, e.g. ``hardware_profile("laptop")``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    return _by_name(load_hardware_profiles(path), name, "name", "hardware profile")


def electricity_price(region: str, path: str | Path | None = None) -> float:
    """USD per kWh for one row of ``data/electricity.csv``, e.g. ``electricity_price("US blended")``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    return _by_name(load_electricity(path), region, "region", "electricity row").usd_per_kwh


def _check_non_negative(**values: float) -> None:
    for name, value in values.items():
        if value is None:
            continue
        if value < 0 or math.isnan(value):
            raise ValueError(f"{name} must be zero or positive, got {value}.")


def _check_share(**values: float) -> None:
    for name, value in values.items():
        if not 0 <= value <= 1:
            raise ValueError(f"{name} is a share between 0 and 1 (e.g. 0.5 for half), got {value}.")


# ---------------------------------------------------------------------------------------------
# Cloud cost
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
# Local cost
# ---------------------------------------------------------------------------------------------

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
        raise ValueError("prefill_tokens_per_s and decode_tokens_per_s must be positive (measure them with labkit.bench).")
    _check_non_negative(input_tokens_per_day=input_tokens_per_day, output_tokens_per_day=output_tokens_per_day)
    seconds = input_tokens_per_day / prefill_tokens_per_s + output_tokens_per_day / decode_tokens_per_s
    return seconds / 3600


def _local_daily_parts(
    hardware_price: float, lifetime_years: float, power_watts: float, idle_watts: float,
    electricity_per_kwh: float, maintenance_hours_per_month: float, hourly_rate: float,
    rent_per_hour: float, machines: int, days_per_month: float, always_on: bool = False,
) -> tuple[float, float]:
    """(fixed USD per day, USD per busy machine-hour) of a local option.

    Fixed: hardware amortised over its life, idle power all day, maintenance time.
    Per busy hour: the extra power above idle, plus rent for a rented server (fixed when always on).
    """
    fixed = 0.0
    if hardware_price:
        if lifetime_years <= 0:
            raise ValueError("lifetime_years must be positive when hardware_price is set (3 years is a common choice).")
        fixed += machines * hardware_price / (lifetime_years * 365)
    fixed += machines * idle_watts / 1000 * 24 * electricity_per_kwh
    fixed += maintenance_hours_per_month * hourly_rate / days_per_month
    per_busy_hour = (power_watts - idle_watts) / 1000 * electricity_per_kwh
    if always_on:
        fixed += machines * rent_per_hour * 24
    else:
        per_busy_hour += rent_per_hour
    return fixed, per_busy_hour


def local_cost_per_month(
    input_tokens_per_day: float,
    output_tokens_per_day: float,
    *,
    prefill_tokens_per_s: float,
    decode_tokens_per_s: float,
    hardware_price: float = 0.0,
    lifetime_years: float = 3.0,
    power_watts: float = 0.0,
    idle_watts: float = 0.0,
    electricity_per_kwh: float = 0.15,
    maintenance_hours_per_month: float = 0.0,
    hourly_rate: float = 0.0,
    rent_per_hour: float = 0.0,
    always_on: bool = False,
    machines: int = 1,
    days_per_month: float = DAYS_PER_MONTH,
) -> LocalCost:
    """What serving the same tokens yourself costs per month.

    hardware: price / lifetime, paid whether the machine works or not (that is why utilisation matters);
    electricity: ``power_watts`` while busy, ``idle_watts`` the rest of the day (0 = switched off);
    maintenance: your time (updates, restarts) × an hourly rate; rent: for a rented GPU server, per busy
    hour, or 24 h a day per machine with ``always_on=True`` (a server that must answer at any moment).
    Speeds are single-machine figures you measured (labkit.bench) or estimated (``decode_ceiling``).

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_non_negative(hardware_price=hardware_price, power_watts=power_watts, idle_watts=idle_watts,
                        electricity_per_kwh=electricity_per_kwh, maintenance_hours_per_month=maintenance_hours_per_month,
                        hourly_rate=hourly_rate, rent_per_hour=rent_per_hour)
    if machines < 1:
        raise ValueError("machines must be at least 1.")
    if idle_watts > power_watts:
        raise ValueError("idle_watts cannot exceed power_watts (the draw while generating).")
    busy = busy_hours_per_day(input_tokens_per_day, output_tokens_per_day,
                              prefill_tokens_per_s=prefill_tokens_per_s, decode_tokens_per_s=decode_tokens_per_s)
    if busy > 24 * machines:
        raise ValueError(f"{busy:.1f} busy hours a day do not fit on {machines} machine(s): "
                         f"use machines={math.ceil(busy / 24)} or see machines_needed().")
    hardware = machines * hardware_price / (lifetime_years * 12) if hardware_price else 0.0
    electricity = (machines * idle_watts * 24 + (power_watts - idle_watts) * busy) / 1000 * electricity_per_kwh * days_per_month
    rent = rent_per_hour * (24 * machines if always_on else busy) * days_per_month
    maintenance = maintenance_hours_per_month * hourly_rate
    total = hardware + electricity + rent + maintenance
    tokens = (input_tokens_per_day + output_tokens_per_day) * days_per_month
    return LocalCost(hardware, electricity, rent, maintenance, total, busy, busy / (24 * machines), tokens,
                     total / tokens * 1e6 if tokens else math.inf)


def local_cost_per_million(
    *,
    tokens_per_s: float,
    utilisation: float,
    hardware_price: float = 0.0,
    lifetime_years: float = 3.0,
    power_watts: float = 0.0,
    electricity_per_kwh: float = 0.15,
) -> float:
    """USD per million generated tokens: (power cost per hour + hardware per busy hour) / tokens per hour.

    ``utilisation`` is the share of the machine's life spent generating (2 h a day = 2/24). The
    hardware term is why a rarely used machine makes expensive tokens: a $1,500 laptop over 3 years
    at 2 h/day and 8 tok/s costs about $24 per million tokens before any electricity.

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_share(utilisation=utilisation)
    if tokens_per_s <= 0:
        raise ValueError("tokens_per_s must be positive.")
    per_hour = power_watts / 1000 * electricity_per_kwh
    if hardware_price:
        if utilisation == 0:
            return math.inf
        per_hour += hardware_price / (lifetime_years * HOURS_PER_YEAR * utilisation)
    return per_hour / (tokens_per_s * 3600) * 1e6


def local_cost_for(profile: HardwareProfile, input_tokens_per_day: float, output_tokens_per_day: float, *,
                   prefill_tokens_per_s: float, decode_tokens_per_s: float, electricity_per_kwh: float = 0.15,
                   maintenance_hours_per_month: float = 0.0, hourly_rate: float = 0.0, machines: int = 1,
                   always_on: bool = False, days_per_month: float = DAYS_PER_MONTH) -> LocalCost:
    """``local_cost_per_month`` with price, power, life and rent taken from a ``HardwareProfile``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    return local_cost_per_month(
        input_tokens_per_day, output_tokens_per_day,
        prefill_tokens_per_s=prefill_tokens_per_s, decode_tokens_per_s=decode_tokens_per_s,
        hardware_price=profile.price_usd, lifetime_years=profile.lifetime_years or 3.0,
        power_watts=profile.power_w, idle_watts=profile.idle_w, electricity_per_kwh=electricity_per_kwh,
        maintenance_hours_per_month=maintenance_hours_per_month, hourly_rate=hourly_rate,
        rent_per_hour=profile.rent_per_hour_usd, always_on=always_on, machines=machines,
        days_per_month=days_per_month,
    )


# ---------------------------------------------------------------------------------------------
# Break-even
# ---------------------------------------------------------------------------------------------

def break_even_tokens_per_day(
    *,
    input_price_per_m: float,
    output_price_per_m: float,
    input_share: float = 0.75,
    prefill_tokens_per_s: float,
    decode_tokens_per_s: float,
    hardware_price: float = 0.0,
    lifetime_years: float = 3.0,
    power_watts: float = 0.0,
    idle_watts: float = 0.0,
    electricity_per_kwh: float = 0.15,
    maintenance_hours_per_month: float = 0.0,
    hourly_rate: float = 0.0,
    rent_per_hour: float = 0.0,
    always_on: bool = False,
    days_per_month: float = DAYS_PER_MONTH,
) -> float:
    """Tokens per day (input + output) above which the local option is cheaper than the API.

    Local cost per day = fixed + tokens × (busy hours per token × cost per busy hour); the API costs
    tokens × blended price. Where those lines cross is the break-even. Returns ``math.inf`` when the
    local option never wins (each local token costs more than an API token). ``input_share`` is the
    share of tokens that are input (0.75 = the common 3:1 input:output mix). The answer may exceed
    what one machine can produce in a day: compare it with ``max_tokens_per_day``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_share(input_share=input_share)
    fixed, per_busy_hour = _local_daily_parts(hardware_price, lifetime_years, power_watts, idle_watts,
                                              electricity_per_kwh, maintenance_hours_per_month, hourly_rate,
                                              rent_per_hour, 1, days_per_month, always_on)
    cloud_per_token = (input_share * input_price_per_m + (1 - input_share) * output_price_per_m) / 1e6
    hours_per_token = busy_hours_per_day(input_share, 1 - input_share, prefill_tokens_per_s=prefill_tokens_per_s,
                                         decode_tokens_per_s=decode_tokens_per_s)
    local_per_token = hours_per_token * per_busy_hour
    margin = cloud_per_token - local_per_token
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


# ---------------------------------------------------------------------------------------------
# Scaling
# ---------------------------------------------------------------------------------------------

def decode_ceiling(memory_bandwidth_gbs: float, bytes_per_token: float) -> float:
    """Upper bound on decode tokens/s: every new token reads all weights (and the KV cache) once.

    ``tok/s ≤ bandwidth / bytes read per token``; real runs reach 50–80 % of it.

    Introduced in notebooks/01_running_local_llms.
    """
    if bytes_per_token <= 0:
        raise ValueError("bytes_per_token must be positive (use the GGUF file size).")
    return memory_bandwidth_gbs * 1e9 / bytes_per_token


@dataclass(frozen=True)
class Scaling:
    """What a user base asks for, and what serves it.

    ``machines`` is how many local machines (each at the measured speeds, one request at a time)
    keep up; ``cloud_limit`` names the API limit that is exceeded ("requests per minute",
    "tokens per minute") or is ``None``; ``max_users_cloud`` is how many users the limits allow.

    Introduced in notebooks/05_local_vs_cloud.
    """

    requests_per_s: float
    input_tokens_per_s: float
    output_tokens_per_s: float
    seconds_per_request: float
    machines: int
    requests_per_minute: float
    tokens_per_minute: float
    cloud_limit: str | None
    max_users_cloud: float


def scaling(
    users: float,
    requests_per_user_per_hour: float,
    input_tokens_per_request: float,
    output_tokens_per_request: float,
    *,
    prefill_tokens_per_s: float,
    decode_tokens_per_s: float,
    peak_factor: float = 1.0,
    rpm_limit: float | None = None,
    tpm_limit: float | None = None,
) -> Scaling:
    """Throughput needed by a user base vs measured local speed, and where an API's limits bite.

    Each local machine serves one request at a time: it is busy ``input/prefill + output/decode``
    seconds per request, so machines = ceil(requests per second × seconds per request). (Servers that
    batch several requests at once get more from one machine: measure that and pass the aggregate
    speeds.) ``peak_factor`` scales the average load to the busiest hour. The API side compares
    requests and tokens (input + output) per minute with the account's rate limits.

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_non_negative(users=users, requests_per_user_per_hour=requests_per_user_per_hour,
                        input_tokens_per_request=input_tokens_per_request,
                        output_tokens_per_request=output_tokens_per_request)
    if peak_factor < 1:
        raise ValueError("peak_factor is how much busier the peak is than the average: 1 or more.")
    requests_per_s = users * requests_per_user_per_hour / 3600 * peak_factor
    per_request = busy_hours_per_day(input_tokens_per_request, output_tokens_per_request,
                                     prefill_tokens_per_s=prefill_tokens_per_s,
                                     decode_tokens_per_s=decode_tokens_per_s) * 3600
    load = requests_per_s * per_request
    machines = max(1, math.ceil(load - 1e-9))
    rpm = requests_per_s * 60
    tpm = rpm * (input_tokens_per_request + output_tokens_per_request)
    limit = None
    if rpm_limit is not None and rpm > rpm_limit:
        limit = "requests per minute"
    elif tpm_limit is not None and tpm > tpm_limit:
        limit = "tokens per minute"
    per_user_rpm = requests_per_user_per_hour / 60 * peak_factor
    per_user_tpm = per_user_rpm * (input_tokens_per_request + output_tokens_per_request)
    caps = [math.inf]
    if rpm_limit is not None and per_user_rpm > 0:
        caps.append(rpm_limit / per_user_rpm)
    if tpm_limit is not None and per_user_tpm > 0:
        caps.append(tpm_limit / per_user_tpm)
    return Scaling(requests_per_s, requests_per_s * input_tokens_per_request,
                   requests_per_s * output_tokens_per_request, per_request, machines, rpm, tpm, limit, min(caps))


def machines_needed(tokens_per_day: float, *, prefill_tokens_per_s: float, decode_tokens_per_s: float,
                    input_share: float = 0.75) -> int:
    """How many machines produce ``tokens_per_day`` (in the given input:output mix) working 24 h a day.

    Introduced in notebooks/05_local_vs_cloud.
    """
    capacity = max_tokens_per_day(prefill_tokens_per_s=prefill_tokens_per_s, decode_tokens_per_s=decode_tokens_per_s,
                                  input_share=input_share)
    return max(1, math.ceil(tokens_per_day / capacity - 1e-9))


# ---------------------------------------------------------------------------------------------
# Latency
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Latency:
    """Seconds a user waits, split into parts: network, model load, first token, the rest of the answer.

    Introduced in notebooks/05_local_vs_cloud.
    """

    network: float
    load: float
    first_token: float
    generation: float
    total: float


def cloud_latency(output_tokens: int, *, rtt_s: float, ttft_s: float, tokens_per_s: float) -> Latency:
    """Time until a full API answer: network round trip + time to first token + tokens / speed.

    The provider's TTFT covers its queue and prompt processing; the RTT is your network's.

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_non_negative(output_tokens=output_tokens, rtt_s=rtt_s, ttft_s=ttft_s)
    if tokens_per_s <= 0:
        raise ValueError("tokens_per_s must be positive.")
    generation = output_tokens / tokens_per_s
    return Latency(rtt_s, 0.0, ttft_s, generation, rtt_s + ttft_s + generation)


def local_latency(input_tokens: int, output_tokens: int, *, decode_tokens_per_s: float,
                  prefill_tokens_per_s: float | None = None, ttft_s: float | None = None,
                  load_s: float = 0.0, warm: bool = True) -> Latency:
    """Time until a full local answer: model load (cold only) + time to first token + tokens / speed.

    Give the measured ``ttft_s`` when you have it; otherwise it is estimated as
    ``input_tokens / prefill_tokens_per_s``. ``warm=True`` means the model is already in memory
    (Ollama keeps it 5 minutes by default), so ``load_s`` is not paid.

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_non_negative(input_tokens=input_tokens, output_tokens=output_tokens, load_s=load_s)
    if decode_tokens_per_s <= 0:
        raise ValueError("decode_tokens_per_s must be positive.")
    if ttft_s is None:
        if not prefill_tokens_per_s:
            raise ValueError("give ttft_s (measured) or prefill_tokens_per_s to estimate it.")
        ttft_s = input_tokens / prefill_tokens_per_s
    load = 0.0 if warm else load_s
    generation = output_tokens / decode_tokens_per_s
    return Latency(0.0, load, ttft_s, generation, load + ttft_s + generation)


# ---------------------------------------------------------------------------------------------
# Privacy
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataFlow:
    """Where prompts and answers travel and rest for one way of running a model.

    Introduced in notebooks/05_local_vs_cloud.
    """

    option: str
    leaves_device: bool
    leaves_organisation: bool
    path: str
    stored: str
    who_can_see: str


DATA_FLOWS: dict[str, DataFlow] = {
    "cloud_api": DataFlow(
        option="cloud_api", leaves_device=True, leaves_organisation=True,
        path="app → internet (TLS) → provider's API front end → provider's GPU servers → back",
        stored="provider logs and abuse-monitoring stores for the retention period in its terms; "
               "prompt caches; your own app logs",
        who_can_see="the provider's systems and authorised staff under its policy; subprocessors it names",
    ),
    "ollama_workstation": DataFlow(
        option="ollama_workstation", leaves_device=True, leaves_organisation=False,
        path="app → local network or 127.0.0.1 → Ollama server on the workstation → back",
        stored="nothing by Ollama beyond its server log (request metadata); your own app logs; "
               "the model runs from files on disk",
        who_can_see="whoever administers the workstation and the network it sits on",
    ),
    "llamacpp_edge": DataFlow(
        option="llamacpp_edge", leaves_device=False, leaves_organisation=False,
        path="app → llama.cpp in the same process on the device → back; no network needed",
        stored="only what your app writes on the device",
        who_can_see="whoever holds the device",
    ),
    "transformers_gpu_server": DataFlow(
        option="transformers_gpu_server", leaves_device=True, leaves_organisation=True,
        path="app → internet or VPN → rented GPU server running your own code → back",
        stored="your server's disks and logs; the hosting provider holds the machine and its disks",
        who_can_see="your team; the hosting provider's operators at the infrastructure level",
    ),
}


def data_flow(option: str) -> DataFlow:
    """Describe where prompts and outputs go for ``option`` (a key of ``DATA_FLOWS``).

    Introduced in notebooks/05_local_vs_cloud.
    """
    try:
        return DATA_FLOWS[option]
    except KeyError:
        raise KeyError(f"unknown option {option!r}; choose one of {sorted(DATA_FLOWS)}") from None
