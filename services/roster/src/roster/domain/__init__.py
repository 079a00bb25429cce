"""The roster's domain: drivers and their lists, member records, verification, the ledger, organisation."""
