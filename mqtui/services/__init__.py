"""The service layer between the brokers and the front ends (the console and the CLI).

`session` opens a profile, `gateway` is the one way to run an adapter method (asking `policy` first),
`backend` is what the console talks to, with `poller`, `tailer`, `history` and `snapshot` behind it.
"""
