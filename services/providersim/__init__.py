"""A simulator of the network provider: a third party's HTTP API, run as its own process.

It is not one of our services: it imports none of our code and speaks only HTTP+JSON, so
provisioning reaches it through the same adapter that reaches the real provider.
"""
