"""Retention offers under a budget (pure): the policy file and the choice of an offer."""
