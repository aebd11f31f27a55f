"""Calls: the call engine, its routing tables and call-progress tones."""
