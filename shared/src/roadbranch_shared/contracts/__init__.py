"""Every service's published language: the payload models of the events it puts on Kafka.

Consumers import these models; the JSON schema of each is snapshotted in `contracts/` at the repo
root and CI fails on a breaking change. Within a type version only optional fields may be added.
Payloads carry internal ids only: never an ID number, a phone number or a name.
"""

from roadbranch_shared.contracts import activities, identity, notify, roster, welfare

__all__ = ["activities", "identity", "notify", "roster", "welfare"]
