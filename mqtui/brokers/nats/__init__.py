"""NATS core and JetStream through nats-py: `adapter.NatsAdapter`."""
