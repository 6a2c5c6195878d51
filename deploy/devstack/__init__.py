"""Development stack: the embedded database server and the local RabbitMQ, for make run and the tests."""
