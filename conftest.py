"""Root conftest: the real-server fixtures (Kafka, FerretDB, service processes) for every test folder."""

pytest_plugins = ["roadbranch_shared.testing"]
