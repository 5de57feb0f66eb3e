"""Hand-checked values for the cost, break-even, scaling, latency and privacy functions."""

import csv
import math

import pytest

from labkit import tradeoffs as t

DAYS = 30  # a round month keeps the hand arithmetic in the comments simple


# --- data files ---------------------------------------------------------------------------------

def test_every_data_row_has_source_and_date():
    for name in ["cloud_prices.csv", "hardware_profiles.csv", "electricity.csv", "common_models.csv"]:
        with (t.DATA_DIR / name).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows, name
        for row in rows:
            assert row["source"].strip() and row["date"].strip(), (name, row)


def _rows(name: str) -> list[dict[str, str]]:
    with (t.DATA_DIR / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_loaders_read_every_row_as_numbers_that_make_sense():
    prices = t.load_cloud_prices()
    assert [p.model for p in prices] == [r["model"] for r in _rows("cloud_prices.csv")]
    for price, row in zip(prices, _rows("cloud_prices.csv")):
        assert (price.input_per_m, price.output_per_m) == (float(row["input_per_m"]), float(row["output_per_m"]))
        assert 0 <= price.batch_discount < 1
        if price.cached_input_per_m is not None:
            assert price.cached_input_per_m <= price.input_per_m  # a cache hit never costs more
        assert t.cloud_price(price.model) == price  # found by its name
    profiles = t.load_hardware_profiles()
    assert [p.name for p in profiles] == [r["name"] for r in _rows("hardware_profiles.csv")]
    for profile in profiles:
        assert profile.idle_w <= profile.power_w and profile.memory_gb > 0 and profile.memory_bandwidth_gbs > 0
        assert (profile.price_usd > 0) != (profile.rent_per_hour_usd > 0)  # bought or rented, not both
        assert t.hardware_profile(profile.name) == profile
    for row in _rows("electricity.csv"):
        assert t.electricity_price(row["region"]) == float(row["usd_per_kwh"]) > 0


def test_unknown_names_and_bad_files_say_what_to_do(tmp_path):
    with pytest.raises(KeyError, match="known: .*gpt-4o-mini"):
        t.cloud_price("gpt-99")
    bad = tmp_path / "prices.csv"
    bad.write_text("region,usd_per_kwh,source,date\nsomewhere,0.2,,\n")
    with pytest.raises(ValueError, match="source and a date"):
        t.load_electricity(bad)
    with pytest.raises(FileNotFoundError, match="restore it"):
        t.load_electricity(tmp_path / "missing.csv")


# --- cloud cost ---------------------------------------------------------------------------------

def test_cloud_cost_list_price():
    # 1M input/day × 30 = 30M × $0.15 = $4.50; 200k output/day × 30 = 6M × $0.60 = $3.60
    cost = t.cloud_cost_per_month(1_000_000, 200_000, 0.15, 0.60, days_per_month=DAYS)
    assert cost.input_cost == pytest.approx(4.50)
    assert cost.output_cost == pytest.approx(3.60)
    assert cost.total == pytest.approx(8.10)
    assert cost.per_million_tokens == pytest.approx(8.10 / 36)


def test_cloud_cost_batch_and_cache_discounts():
    batch = t.cloud_cost_per_month(1_000_000, 200_000, 0.15, 0.60, batch_discount=0.5, days_per_month=DAYS)
    assert batch.total == pytest.approx(4.05)
    # half the input from the cache at $0.075: 15M × 0.15 + 15M × 0.075 = 2.25 + 1.125; output 3.60
    cached = t.cloud_cost_per_month(1_000_000, 200_000, 0.15, 0.60, cached_share=0.5,
                                    cached_input_price_per_m=0.075, days_per_month=DAYS)
    assert cached.input_cost == pytest.approx(2.25)
    assert cached.cached_input_cost == pytest.approx(1.125)
    assert cached.total == pytest.approx(6.975)
    row = t.cloud_cost_for(t.cloud_price("gpt-4o-mini"), 1_000_000, 200_000, cached_share=0.5, batch=True,
                           days_per_month=DAYS)
    assert row.total == pytest.approx(6.975 / 2)


def test_cloud_cost_rejects_bad_input():
    with pytest.raises(ValueError, match="between 0 and 1"):
        t.cloud_cost_per_month(1, 1, 1, 1, batch_discount=50)
    with pytest.raises(ValueError, match="cached_input_price_per_m"):
        t.cloud_cost_per_month(1, 1, 1, 1, cached_share=0.5)
    with pytest.raises(ValueError, match="zero or positive"):
        t.cloud_cost_per_month(-1, 1, 1, 1)


# --- local cost ---------------------------------------------------------------------------------

def test_busy_hours():
    # 360,000 input at 200 tok/s = 1,800 s; 57,600 output at 8 tok/s = 7,200 s → 2.5 h
    assert t.busy_hours_per_day(360_000, 57_600, prefill_tokens_per_s=200, decode_tokens_per_s=8) == pytest.approx(2.5)


def test_local_cost_per_month_parts():
    setup = t.LocalSetup(hardware_price=1500, lifetime_years=3, power_watts=45, electricity_per_kwh=0.15,
                         maintenance_hours_per_month=1, hourly_rate=50, days_per_month=DAYS)
    cost = t.local_cost_per_month(360_000, 57_600, prefill_tokens_per_s=200, decode_tokens_per_s=8, setup=setup)
    assert cost.hardware == pytest.approx(1500 / (3 * 365) * 30)  # $1.37 a day for a 30-day month: 41.10
    assert cost.electricity == pytest.approx(0.045 * 2.5 * 0.15 * 30)  # 0.50625
    assert cost.maintenance == pytest.approx(50)
    assert cost.total == pytest.approx(1500 / (3 * 365) * 30 + 0.50625 + 50)
    assert cost.utilisation == pytest.approx(2.5 / 24)
    assert cost.per_million_tokens == pytest.approx(cost.total / (417_600 * 30) * 1e6)


def test_local_cost_idle_power_and_rent():
    # idle 10 W all day, 100 W while busy 1 h: (10×24 + 90×1) Wh = 0.33 kWh × $0.20 × 30 = $1.98
    cost = t.local_cost_per_month(0, 3600, prefill_tokens_per_s=100, decode_tokens_per_s=1,
                                  setup=t.LocalSetup(power_watts=100, idle_watts=10, electricity_per_kwh=0.20,
                                                     days_per_month=DAYS))
    assert cost.electricity == pytest.approx(1.98)
    # a rented server at $2.50 per busy hour, 2 h a day: $150 a month, no hardware
    rented = t.local_cost_per_month(0, 7200, prefill_tokens_per_s=100, decode_tokens_per_s=1,
                                    setup=t.LocalSetup(rent_per_hour=2.5, days_per_month=DAYS))
    assert (rented.rent, rented.hardware, rented.total) == (pytest.approx(150), 0, pytest.approx(150))
    # kept up all day: $2.69 × 24 h × 30 days = $1,936.80, however few tokens it serves
    always = t.local_cost_per_month(0, 7200, prefill_tokens_per_s=100, decode_tokens_per_s=1,
                                    setup=t.LocalSetup(rent_per_hour=2.69, always_on=True, days_per_month=DAYS))
    assert always.rent == pytest.approx(1936.8)


def test_local_cost_too_much_work_for_one_machine():
    with pytest.raises(ValueError, match="machines=2"):
        t.local_cost_per_month(0, 30 * 3600, prefill_tokens_per_s=100, decode_tokens_per_s=1)
    two = t.local_cost_per_month(0, 30 * 3600, prefill_tokens_per_s=100, decode_tokens_per_s=1,
                                 setup=t.LocalSetup(machines=2))
    assert two.utilisation == pytest.approx(30 / 48)


def test_local_cost_per_million_matches_the_worked_anchor():
    # electricity only: 45 W × $0.15/kWh = $0.00675 per hour / 28,800 tokens per hour = $0.234 per M
    assert t.local_cost_per_million(tokens_per_s=8, utilisation=2 / 24,
                                    setup=t.LocalSetup(power_watts=45, electricity_per_kwh=0.15)) == pytest.approx(0.234375)
    # + $1,500 over 3 years at 2 h/day: 1500 / (26,280 h / 12) = $0.685 per busy hour → ≈ $24.02 per M
    full = t.local_cost_per_million(tokens_per_s=8, utilisation=2 / 24,
                                    setup=t.LocalSetup(hardware_price=1500, lifetime_years=3, power_watts=45,
                                                       electricity_per_kwh=0.15))
    assert full == pytest.approx((0.00675 + 1500 / 2190) / 28_800 * 1e6)
    assert full == pytest.approx(24.0167, abs=1e-3)
    assert t.local_cost_per_million(tokens_per_s=8, utilisation=0, setup=t.LocalSetup(hardware_price=1)) == math.inf


def test_local_setup_from_a_profile_uses_its_columns():
    laptop = t.hardware_profile("laptop")
    setup = t.LocalSetup.from_profile(laptop, days_per_month=DAYS)
    cost = t.local_cost_per_month(0, 3600 * 8, prefill_tokens_per_s=100, decode_tokens_per_s=8, setup=setup)
    assert cost.hardware == pytest.approx(laptop.price_usd / (laptop.lifetime_years * 365) * DAYS)
    assert cost.electricity == pytest.approx(laptop.power_w / 1000 * 1 * 0.15 * 30)


# --- break-even ---------------------------------------------------------------------------------

def test_break_even_simple():
    # $1,095 over 3 years = $1 a day fixed; API $1 per M tokens; free electricity → 1M tokens a day
    tokens = t.break_even_tokens_per_day(input_price_per_m=1, output_price_per_m=1, prefill_tokens_per_s=1000,
                                         decode_tokens_per_s=100,
                                         setup=t.LocalSetup(hardware_price=1095, lifetime_years=3))
    assert tokens == pytest.approx(1_000_000)


def test_break_even_costs_are_equal_there():
    kwargs = dict(prefill_tokens_per_s=1000, decode_tokens_per_s=100,
                  setup=t.LocalSetup(hardware_price=1095, lifetime_years=3, power_watts=100, electricity_per_kwh=0.15,
                                     maintenance_hours_per_month=0.5, hourly_rate=40))
    tokens = t.break_even_tokens_per_day(input_price_per_m=2.5, output_price_per_m=10, input_share=0.75, **kwargs)
    local = t.local_cost_per_month(0.75 * tokens, 0.25 * tokens, **kwargs)
    cloud = t.cloud_cost_per_month(0.75 * tokens, 0.25 * tokens, 2.5, 10)
    assert local.total == pytest.approx(cloud.total)


def test_break_even_with_an_always_on_rented_server():
    # $2.50/h all day = $60 a day fixed; API $10 per M tokens → 6M tokens a day
    tokens = t.break_even_tokens_per_day(input_price_per_m=10, output_price_per_m=10, prefill_tokens_per_s=10_000,
                                         decode_tokens_per_s=1000, setup=t.LocalSetup(rent_per_hour=2.5, always_on=True))
    assert tokens == pytest.approx(6_000_000)


def test_break_even_never_when_local_tokens_cost_more():
    assert t.break_even_tokens_per_day(input_price_per_m=0.01, output_price_per_m=0.01, prefill_tokens_per_s=10,
                                       decode_tokens_per_s=1,
                                       setup=t.LocalSetup(power_watts=500, electricity_per_kwh=0.4,
                                                          hardware_price=1000)) == math.inf


def test_max_tokens_and_machines_needed():
    # mix 3:1 at 1000/100 tok/s: 0.75 ms + 2.5 ms = 3.25 ms per token → 86,400 / 0.00325 ≈ 26.6M a day
    assert t.max_tokens_per_day(prefill_tokens_per_s=1000, decode_tokens_per_s=100) == pytest.approx(86_400 / 0.00325)
    assert t.machines_needed(50_000_000, prefill_tokens_per_s=1000, decode_tokens_per_s=100) == 2
    assert t.machines_needed(1, prefill_tokens_per_s=1000, decode_tokens_per_s=100) == 1


# --- scaling ------------------------------------------------------------------------------------

def test_scaling_machines_and_cloud_limits():
    # 100 users × 6 req/h = 1/6 req/s; 300 in / 300 tok/s + 100 out / 50 tok/s = 3 s each → load 0.5
    small = t.scaling(100, 6, 300, 100, prefill_tokens_per_s=300, decode_tokens_per_s=50)
    assert small.requests_per_s == pytest.approx(1 / 6)
    assert small.seconds_per_request == pytest.approx(3)
    assert small.machines == 1
    assert small.output_tokens_per_s == pytest.approx(100 / 6)
    # 1000 users: load 5.0 → 5 machines; 100 requests/min, 40,000 tokens/min
    big = t.scaling(1000, 6, 300, 100, prefill_tokens_per_s=300, decode_tokens_per_s=50, rpm_limit=50, tpm_limit=30_000)
    assert big.machines == 5
    assert big.requests_per_minute == pytest.approx(100)
    assert big.tokens_per_minute == pytest.approx(40_000)
    assert big.cloud_limit == "requests per minute"
    # each user: 0.1 req/min and 40 tokens/min → 50/0.1 = 500 users, 30,000/40 = 750 users → 500
    assert big.max_users_cloud == pytest.approx(500)
    tokens_bite = t.scaling(1000, 6, 300, 100, prefill_tokens_per_s=300, decode_tokens_per_s=50, tpm_limit=30_000)
    assert tokens_bite.cloud_limit == "tokens per minute"
    peak = t.scaling(1000, 6, 300, 100, prefill_tokens_per_s=300, decode_tokens_per_s=50, peak_factor=2)
    assert peak.machines == 10
    assert t.scaling(10, 1, 10, 10, prefill_tokens_per_s=100, decode_tokens_per_s=10).max_users_cloud == math.inf


def test_decode_ceiling():
    assert t.decode_ceiling(100, 4e9) == pytest.approx(25)      # 100 GB/s over a 4 GB file
    assert t.decode_ceiling(51.2, 98_362_432) == pytest.approx(520.5, abs=0.1)
    with pytest.raises(ValueError):
        t.decode_ceiling(100, 0)


# --- latency ------------------------------------------------------------------------------------

def test_cloud_latency():
    lat = t.cloud_latency(200, rtt_s=0.05, ttft_s=0.35, tokens_per_s=80)
    assert (lat.network, lat.first_token, lat.generation) == (0.05, 0.35, pytest.approx(2.5))
    assert lat.total == pytest.approx(2.9)


def test_local_latency_cold_and_warm():
    cold = t.local_latency(500, 200, prefill_tokens_per_s=250, decode_tokens_per_s=100, load_s=0.2, warm=False)
    assert (cold.load, cold.first_token, cold.generation, cold.total) == (0.2, 2.0, 2.0, pytest.approx(4.2))
    warm = t.local_latency(500, 200, prefill_tokens_per_s=250, decode_tokens_per_s=100, load_s=0.2)
    assert warm.total == pytest.approx(4.0)
    measured = t.local_latency(500, 200, ttft_s=0.5, decode_tokens_per_s=100)
    assert measured.total == pytest.approx(2.5)
    with pytest.raises(ValueError, match="ttft_s"):
        t.local_latency(500, 200, decode_tokens_per_s=100)


# --- privacy ------------------------------------------------------------------------------------

def test_data_flows():
    assert t.data_flow("llamacpp_edge").leaves_device is False
    assert t.data_flow("cloud_api").leaves_organisation is True
    assert t.data_flow("ollama_workstation").leaves_organisation is False
    with pytest.raises(KeyError, match="cloud_api"):
        t.data_flow("carrier pigeon")
