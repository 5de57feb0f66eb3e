"""How many machines a user base needs, and where an API's rate limits bite.

Introduced in notebooks/01_running_local_llms (the decode ceiling) and 05_local_vs_cloud.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labkit.tradeoffs.cost import busy_hours_per_day, max_tokens_per_day
from labkit.tradeoffs.data import _check_non_negative


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
