"""Builders the tests share (repositories, worlds): imported by test modules, never a test module."""
