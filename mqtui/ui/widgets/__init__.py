"""Widgets the panes and dialogs are built from: tables, the message list, the broker tree, bars, inputs."""
