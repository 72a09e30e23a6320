"""The HOP export suite: runs inside one torch environment, writes JUnit."""

__version__ = "0.1.0"
