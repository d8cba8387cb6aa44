"""Kafka (and Kafka-protocol brokers such as tansu and Redpanda) through confluent-kafka: `adapter.KafkaAdapter`."""
