"""mqtui: a terminal operations console for message queues."""

__version__ = "0.1.0"
