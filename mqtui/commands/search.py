"""`mqtui search`: the messages of a range that an expression matches, then what the search covered.

Matches go to stdout as they are found (a table, or JSON Lines with `--json`); the coverage line goes to
stderr after them, always, so a partial answer is never silent. The expression is compiled before any
connection, so a bad one costs nothing but its one line. A destination that does not exist or a broker
that cannot be reached is one line and exit 2. Searching a RabbitMQ classic or quorum queue reads it as
`peek` does (get + requeue marks messages redelivered): confirmed, and refused in a readonly profile.
The exit code is 0 when the whole range was searched or the limit was reached (messages the expression
could not be evaluated on are counted in the coverage), 1 when a broker failure left part unsearched.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from mqtui.commands.decoding import decode_messages, decoder_from_args
from mqtui.commands.output import Output, confirm, parse_start, print_messages, warn
from mqtui.errors import BrokerUnavailable, NotFound, UsageError
from mqtui.model import Capability, Message
from mqtui.safetext import safe_line
from mqtui.services.gateway import Adapter, Gateway
from mqtui.services.search.coverage import Coverage
from mqtui.services.search.expression import Expression, compile_expression
from mqtui.services.search.service import SearchRequest, plan, run_search


def expression_from_args(gateway: Gateway, text: str) -> Expression:
    """`--where`: compiled against the profile's saved filters (`@name`), before any connection."""
    return compile_expression(text, filters=gateway.session.profile.filters)


async def cmd_search(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    expression = expression_from_args(gateway, args.where)
    start = parse_start(args.start, "--from")
    end = parse_start(args.end, "--to") if args.end is not None else None
    request = SearchRequest(args.destination, expression, start, end, args.limit)
    decoder = decoder_from_args(gateway, args.broker, args)
    out.raw = args.raw

    def show(found: Sequence[Message]) -> None:
        print_messages(found, out)

    async def prepare(batch: Sequence[Message]) -> Sequence[Message]:
        return await decode_messages(decoder, batch)

    async def search(adapter: Adapter) -> Coverage:
        try:
            planned = await plan(adapter, request)
        except (NotFound, BrokerUnavailable) as error:
            raise UsageError(f"cannot search {args.destination}: {error}") from None
        if planned.hazard is not None:
            hazard = safe_line(planned.hazard)
            gateway.check(args.broker, Capability.PEEK, action=f"searching {args.destination} ({hazard})")
            total = f"{planned.total:,} messages" if planned.total is not None else "the messages"
            confirm(f"search {total} in {args.destination} ({hazard})?", args.yes)
        return await run_search(adapter, request, planned, on_matches=show, prepare=prepare if decoder.active else None)

    try:
        coverage = await gateway.call(args.broker, search)
    except BrokerUnavailable as error:
        raise UsageError(f"cannot search {args.destination}: {error}") from None
    finally:
        decoder.close()
    for line in coverage.lines():
        warn(line)
    return 0 if coverage.complete or coverage.limit_reached else 1
