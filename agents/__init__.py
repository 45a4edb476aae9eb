"""Thin faust adapters around the hub's domain library: decode, call one hub function, send."""

from agents.app import create_app

__all__ = ["create_app"]
