"""Test doubles shared by the test suite (real servers, not mocks)."""
