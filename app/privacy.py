"""Masks for a graduate's contact data, shown to roles without the right to read it."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    """13812345678 → 138****5678: the carrier prefix and last four digits stay readable."""
    if not phone:
        return phone
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_name(name: str | None) -> str | None:
    """王小明 → 王**: the family name only (also the first letter of a Latin name)."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_email(email: str | None) -> str | None:
    """zhang.san@example.com → z***@example.com."""
    if not email:
        return email
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
