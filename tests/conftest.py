"""Shared test configuration: deterministic hypothesis runs, no deadlines for numeric code."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "vitutor",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("vitutor")
