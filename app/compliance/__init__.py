"""Posting checks against campus-recruitment rules: which conditions a posting states that the
rules forbid, where, and why. Pure: text in, flags out; the patterns live in rules.toml."""

from app.compliance.rules import Flag, Rule, check_posting, load_rules

__all__ = ["Flag", "Rule", "check_posting", "load_rules"]
