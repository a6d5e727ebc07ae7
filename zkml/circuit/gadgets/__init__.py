"""Gadgets: the non-linear steps where constraints go. Each takes Signals, emits constraints
through the builder and returns Signals whose values satisfy them. Range checks all go through
``range_check.py`` so a cheaper implementation (lookups) can replace it in one place."""
