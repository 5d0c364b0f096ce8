"""Tests of the contract records: decoding, encoding, JSON Schemas."""
