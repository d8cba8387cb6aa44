"""RabbitMQ through pika (AMQP) and the management HTTP API: `adapter.RabbitMQAdapter`."""
