"""Local vs cloud trade-offs as plain arithmetic: cost, break-even, scaling, latency, privacy.

Every function here is pure: numbers in, numbers (or small dataclasses) out, so a learner can
check each result by hand and the widgets stay thin skins over them.

* :mod:`~labkit.tradeoffs.data` — the editable inputs (prices, hardware, electricity; CSV files);
* :mod:`~labkit.tradeoffs.cost` — an API's bill, your own machine's, and the break-even;
* :mod:`~labkit.tradeoffs.scaling` — machines for a user base, API rate limits;
* :mod:`~labkit.tradeoffs.latency` — how long a user waits;
* :mod:`~labkit.tradeoffs.privacy` — where prompts travel and rest;
* :mod:`~labkit.tradeoffs.evaluate` — capability, measured on checkable tasks;
* :mod:`~labkit.tradeoffs.decision` — the explorers' computations and the decision matrix.

Introduced in notebooks/05_local_vs_cloud.
"""

from labkit import lazy_submodules
from labkit.tradeoffs.cost import (
    UPKEEP_HOURS_PER_MONTH,
    UPKEEP_USD_PER_HOUR,
    CloudCost,
    LocalCost,
    LocalSetup,
    break_even_tokens_per_day,
    busy_hours_per_day,
    cloud_cost_for,
    cloud_cost_per_month,
    local_cost_per_million,
    local_cost_per_month,
    max_tokens_per_day,
)
from labkit.tradeoffs.data import (
    DATA_DIR,
    DAYS_PER_MONTH,
    HOURS_PER_YEAR,
    CloudPrice,
    ElectricityPrice,
    HardwareProfile,
    cloud_price,
    electricity_price,
    hardware_profile,
    load_cloud_prices,
    load_electricity,
    load_hardware_profiles,
)
from labkit.tradeoffs.latency import Latency, cloud_latency, local_latency
from labkit.tradeoffs.privacy import CLOUD_CONTROLS, DATA_FLOWS, CloudControl, DataFlow, data_flow
from labkit.tradeoffs.scaling import Scaling, decode_ceiling, machines_needed, scaling

__all__ = [
    "UPKEEP_HOURS_PER_MONTH", "UPKEEP_USD_PER_HOUR",
    "CloudCost", "LocalCost", "LocalSetup", "break_even_tokens_per_day", "busy_hours_per_day", "cloud_cost_for",
    "cloud_cost_per_month", "local_cost_per_million", "local_cost_per_month", "max_tokens_per_day", "DATA_DIR",
    "DAYS_PER_MONTH", "HOURS_PER_YEAR", "CloudPrice", "ElectricityPrice", "HardwareProfile", "cloud_price",
    "electricity_price", "hardware_profile", "load_cloud_prices", "load_electricity", "load_hardware_profiles",
    "Latency", "cloud_latency", "local_latency", "CLOUD_CONTROLS", "CloudControl", "DATA_FLOWS", "DataFlow",
    "data_flow", "Scaling",
    "decode_ceiling", "machines_needed", "scaling",
]

__getattr__ = lazy_submodules(__name__, {"cost", "data", "decision", "evaluate", "latency", "privacy", "scaling"})
