"""Customer analytics as of the snapshot date S, declared once: windows, boundaries, names and the
order in which segments are tried.

Gold's customer snapshot applies these in Spark (`bi_transform.gold.customers`); the catalogue's and
the snapshot's descriptions, the labels' business order and `docs/metrics.md` are written from the same
constants, so a boundary changed here changes all of them together.
"""

from __future__ import annotations

from dataclasses import dataclass

# Windows in days, each ending at S and including it: the RFM window is S-364 .. S.
RFM_DAYS = 365
NEW_DAYS = 30
SPEND_DAYS = 30
# Days since the last order: active up to ACTIVE_MAX_DAYS, at risk up to AT_RISK_MAX_DAYS, then churned.
ACTIVE_MAX_DAYS = 45
AT_RISK_MAX_DAYS = 90
# PERCENT_RANK of CLV from which a customer is in the High, then the Medium tier.
HIGH_TIER, MEDIUM_TIER = 0.8, 0.2
# RFM scores are NTILE(SCORE_TILES); a VIP has every score at VIP_MIN_SCORE or more.
SCORE_TILES = 5
VIP_MIN_SCORE = 4

HIGH, MEDIUM, LOW = "High", "Medium", "Low"
CLV_TIERS = (HIGH, MEDIUM, LOW)
ACTIVE, AT_RISK, CHURNED = "active", "at_risk", "churned"
CHURN_RISKS = (ACTIVE, AT_RISK, CHURNED)
NEW, LOST, CHURN_RISK, VIP, REGULAR = "New", "Lost", "Churn Risk", "VIP", "Regular"
INACTIVE = "Inactive"


@dataclass(frozen=True)
class Rule:
    """A named value and when a customer gets it."""

    name: str
    when: str


POPULATION = (
    "Every customer (non-NULL user_id) with at least one kept order up to S, where S is the latest "
    "order date in Silver, never today's date. Guest orders have no customer and no attributes."
)

CLV_TIER_RULES: tuple[Rule, ...] = (
    Rule(HIGH, f"clv_percent_rank >= {HIGH_TIER}"),
    Rule(MEDIUM, f"clv_percent_rank >= {MEDIUM_TIER}"),
    Rule(LOW, "any lower rank"),
)

CHURN_RISK_RULES: tuple[Rule, ...] = (
    Rule(ACTIVE, f"days_since_last_order <= {ACTIVE_MAX_DAYS}"),
    Rule(AT_RISK, f"days_since_last_order {ACTIVE_MAX_DAYS + 1}-{AT_RISK_MAX_DAYS}"),
    Rule(CHURNED, f"days_since_last_order > {AT_RISK_MAX_DAYS}"),
)

# In precedence order: a customer with an order in the RFM window gets the first that applies, and the
# last applies to everyone the others leave. Lost and Churn Risk are the churn indicators' churned and
# at_risk, so the two views of a customer never contradict each other.
SEGMENT_RULES: tuple[Rule, ...] = (
    Rule(NEW, f"first order on or after S-{NEW_DAYS - 1}"),
    Rule(LOST, f"recency_days > {AT_RISK_MAX_DAYS} (churn_risk {CHURNED})"),
    Rule(CHURN_RISK, f"recency_days {ACTIVE_MAX_DAYS + 1}-{AT_RISK_MAX_DAYS} (churn_risk {AT_RISK})"),
    Rule(VIP, f"r_score, f_score and m_score all >= {VIP_MIN_SCORE}"),
    Rule(REGULAR, "none of the above"),
)
SEGMENTS_IN_PRECEDENCE = tuple(rule.name for rule in SEGMENT_RULES)
# Tried before the segments: without an order in the RFM window a customer has no scores to segment by.
INACTIVE_RULE = Rule(INACTIVE, f"no order in the {RFM_DAYS} days to S, so no RFM scores")
