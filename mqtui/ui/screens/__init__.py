"""The console screen and the dialogs opened over it."""
