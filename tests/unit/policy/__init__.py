"""Property-based tests of the decision core."""
