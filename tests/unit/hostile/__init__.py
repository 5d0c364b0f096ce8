"""Hostile input (issue 9, item 6): valid events mutated into garbage, through decoder and core."""
