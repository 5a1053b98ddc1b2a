"""Filters that print durations held in seconds."""

from django import template

register = template.Library()


@register.filter
def ms(seconds: float | None) -> str:
    """0.0123 -> "12 ms"; None -> "–"."""
    if seconds is None:
        return "–"
    value = seconds * 1000
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


@register.filter
def secs(seconds: float | None) -> str:
    """1.234 -> "1.23 s"; None -> "–"."""
    if seconds is None:
        return "–"
    return f"{seconds:.2f} s"
