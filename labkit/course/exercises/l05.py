"""Self-checks of notebooks/05_local_vs_cloud."""

from __future__ import annotations

import math
from typing import Any

from labkit.course.check import Exercise, NotYet, close, number, run


def _setups() -> list[tuple[str, Any]]:
    from labkit import tradeoffs as t

    return [
        ("a $1,500 laptop, 45 W, 1 h of upkeep a month at $50/h",
         t.LocalSetup(hardware_price=1500, power_watts=45, idle_watts=5, maintenance_hours_per_month=1,
                      hourly_rate=50)),
        ("a $2,600 GPU workstation, 450 W, idle 60 W, 4 h of upkeep at $60/h",
         t.LocalSetup(hardware_price=2600, power_watts=450, idle_watts=60, maintenance_hours_per_month=4,
                      hourly_rate=60)),
        ("a rented GPU server kept up all day at $2.69/h",
         t.LocalSetup(rent_per_hour=2.69, always_on=True)),
    ]


def break_even(function: Any) -> tuple[bool, str]:
    """05.1: ``break_even(setup, input_price_per_m, output_price_per_m, prefill_tok_s, decode_tok_s)``."""
    from labkit import tradeoffs as t

    laptop, workstation, rented = _setups()
    # the last: a workstation's busy hours for a slow model cost more per token than a cheap API: never
    cases = [(laptop, (0.15, 0.60, 400, 40)), (workstation, (2.5, 10.0, 3000, 120)), (rented, (0.15, 0.60, 20, 2)),
             (workstation, (0.15, 0.60, 20, 2))]
    for (label, setup), (price_in, price_out, prefill, decode) in cases:
        expected = t.break_even_tokens_per_day(input_price_per_m=price_in, output_price_per_m=price_out,
                                               prefill_tokens_per_s=prefill, decode_tokens_per_s=decode, setup=setup)
        got = number(run(function, setup, price_in, price_out, prefill, decode), "tokens per day")
        if math.isinf(expected):
            if math.isinf(got):
                continue
            raise NotYet(f"{label}: each local token costs more than an API token here, so the lines never "
                         "cross: return math.inf")
        if close(got, expected, 0.01):
            continue
        if close(got, expected * setup.days_per_month, 0.02) or close(got, expected / setup.days_per_month, 0.02):
            raise NotYet(f"{label}: off by the days in a month; work per day (or per month) on both sides")
        raise NotYet(f"{label}: the break-even is {expected:,.0f} tokens/day, you found {got:,.0f}. Fixed cost per "
                     "day / (API price per token - local cost per token), with setup.cost_per_day(0) and "
                     "setup.cost_per_day(1) - setup.cost_per_day(0) per busy hour")
    return True, ("your formula agrees with the kit's on a laptop, a workstation and a rented server; now put in "
                  "your own usage and machine.")


def machines_for(function: Any) -> tuple[bool, str]:
    """05.2: ``machines_for(users, requests_per_user_per_hour, tokens_in, tokens_out, prefill_tok_s, decode_tok_s)``."""
    from labkit import tradeoffs as t

    # the last: long prompts and short answers (as in RAG), where the prompt's time decides the count
    cases = [(50, 6, 400, 200, 300, 50), (500, 12, 800, 300, 2000, 120), (1, 1, 100, 100, 100, 10),
             (200, 30, 3000, 100, 500, 50)]
    for users, per_hour, tokens_in, tokens_out, prefill, decode in cases:
        expected = t.scaling(users, per_hour, tokens_in, tokens_out, prefill_tokens_per_s=prefill,
                             decode_tokens_per_s=decode).machines
        got = int(number(run(function, users, per_hour, tokens_in, tokens_out, prefill, decode), "a machine count"))
        if got == expected:
            continue
        busy = users * per_hour / 3600 * (tokens_in / prefill + tokens_out / decode)
        if got == math.floor(busy) and got < expected:
            raise NotYet(f"{users} users: {busy:.2f} machines' worth of work needs {expected}: round up, and at "
                         "least one machine")
        raise NotYet(f"{users} users at {per_hour} requests/h: {expected} machine(s), you said {got}. Each request "
                     "keeps a machine busy tokens_in/prefill + tokens_out/decode seconds")
    return True, "one request at a time per machine: requests per second x seconds per request, rounded up."


def fair_latency(answer: Any) -> tuple[bool, str]:
    """05.3: what the latency explorer's comparison supports."""
    choice = str(answer).strip().lower()[:1]
    if choice == "c":
        return True, ("a 135M model and a hosted model many times its size do not answer the same questions "
                      "correctly; first find the models that pass your task (section 5), then compare their "
                      "latency, cost and privacy.")
    if choice == "a":
        return False, ("the explorer times two different models: the faster one may not answer your task at all. "
                       "Latency compares options only among models good enough for the job.")
    if choice == "b":
        return False, ("the network is one slice of the cloud bar, and the local bars move with this machine's "
                       "speed; neither makes the two models equally capable.")
    return False, "answer 'a', 'b' or 'c'"


EXERCISES = {
    "05.1": Exercise("Write break_even(setup, prices, speeds) without the kit's function.", break_even),
    "05.2": Exercise("Write machines_for(users, ...) for a user base and measured speeds.", machines_for),
    "05.3": Exercise("What does the latency explorer's comparison support?", fair_latency),
}
