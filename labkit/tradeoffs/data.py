"""The editable inputs of the trade-offs: API prices, hardware, electricity.

They change over time, so they live in CSV files under ``labkit/data/``, each row with a
``source`` and a ``date``; edit those files (or pass your own copy) when prices move, and
the code stays the same. Introduced in notebooks/05_local_vs_cloud.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from labkit import DATA_DIR

DAYS_PER_MONTH = 365 / 12
"""An average month (30.42 days), so that 12 months of costs add up to one year of hardware life."""

HOURS_PER_YEAR = 365 * 24


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
