"""The console (Textual): the app, its console screen, the panes, the dialogs and the workflows behind them."""
