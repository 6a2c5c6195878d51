"""Development stack: the embedded database server and local RabbitMQ, for make run and tests."""
