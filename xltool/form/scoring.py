"""Scoring and tolerance settings: configuration with stated defaults, never code branches.

Defaults follow the example report (10/40/20/10/20) and the widely deployed 一体化
performance module described in domain.md. A region overrides them with a TOML file
(``--rules-config``); see ``scoring_default.toml`` for every key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_FILE = Path(__file__).with_name("scoring_default.toml")


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    execution: float = 10
    output: float = 40
    benefit: float = 20
    satisfaction: float = 10
    cost: float = 20


class ExecutionScoring(BaseModel):
    """得分 for 预算执行率: ``linear`` = 分值 × 执行率 capped at 分值, or ``thresholds``."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field("linear", pattern="^(linear|thresholds)$")
    # (minimum rate, share of the weight), highest first; used when method = thresholds.
    thresholds: list[tuple[float, float]] = [(1.0, 1.0), (0.9, 0.9), (0.8, 0.8), (0.6, 0.6), (0.0, 0.0)]


class IndicatorScoring(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # 定性 bands: share of the weight allowed for each judgement.
    qualitative: dict[str, tuple[float, float]] = {
        "达成": (0.8, 1.0),
        "部分达成": (0.6, 0.8),
        "未达成": (0.0, 0.6),
    }
    # Some provinces deduct points when an actual exceeds its target by a wide margin.
    deviation_deduction: float = 0.0
    deviation_threshold: float = 0.3


class Caps(BaseModel):
    """Optional cap of the 总分 by 执行率: (minimum rate, maximum total), highest first."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    bands: list[tuple[float, float]] = [(0.8, 100), (0.7, 89), (0.6, 79), (0.5, 69), (0.0, 59)]


class Plausibility(BaseModel):
    """Thresholds of the 需要说明 checks on year-over-year and budget-vs-final changes."""

    model_config = ConfigDict(extra="forbid")

    change_ratio: float = 0.5
    change_amount: float = 10.0
    income_gap_ratio: float = 0.2


class ScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = "默认（示例报告口径）"
    weights: Weights = Weights()
    execution: ExecutionScoring = ExecutionScoring()
    indicator: IndicatorScoring = IndicatorScoring()
    caps: Caps = Caps()
    plausibility: Plausibility = Plausibility()
    score_tolerance: float = 0.01


def load_scoring(path: Path | None = None, base: ScoringConfig | None = None) -> ScoringConfig:
    """*base* (the defaults when None), overridden key by key by the TOML file at *path*."""
    base = base or ScoringConfig()
    if path is None:
        return base
    with Path(path).open("rb") as fh:
        data = tomllib.load(fh)
    if base == ScoringConfig():
        return ScoringConfig.model_validate(data)
    return ScoringConfig.model_validate(_merge(base.model_dump(), data))


def overlay(base: ScoringConfig, over: ScoringConfig) -> ScoringConfig:
    """*over*'s stated settings (those it was given, e.g. by a bureau's TOML) over *base* (a form
    pack's own rule set); a configuration that states nothing leaves *base* as it is."""
    stated = over.model_dump(exclude_unset=True)
    if not stated:
        return base
    return ScoringConfig.model_validate(_merge(base.model_dump(), stated))


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
