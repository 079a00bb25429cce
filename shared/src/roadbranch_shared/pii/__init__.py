"""Personal data handling shared by all services: validate, index, encrypt, mask, and keep
out of logs. See docs/architecture.md, "Privacy of ID numbers (PIPL)".
"""

from roadbranch_shared.pii.crypto import (
    IndexPurpose,
    PiiDecryptError,
    PiiKeyError,
    PiiKeys,
    blind_index,
    decrypt,
    encrypt,
    generate_key,
    open_contact_point,
    seal_contact_point,
)
from roadbranch_shared.pii.idnumber import (
    IdNumberCheck,
    IdReason,
    check_char,
    make_synthetic_id_number,
    validate_id_number,
)
from roadbranch_shared.pii.logfilter import (
    PiiInLogError,
    PiiRedactingFilter,
    find_pii,
    install_pii_filter,
    redact_pii,
)
from roadbranch_shared.pii.masking import mask_id_number, mask_name, mask_phone
from roadbranch_shared.pii.phone import PhoneCheck, PhoneReason, validate_phone

__all__ = [
    "IdNumberCheck",
    "IdReason",
    "IndexPurpose",
    "PhoneCheck",
    "PhoneReason",
    "PiiDecryptError",
    "PiiInLogError",
    "PiiKeyError",
    "PiiKeys",
    "PiiRedactingFilter",
    "blind_index",
    "check_char",
    "decrypt",
    "encrypt",
    "find_pii",
    "generate_key",
    "install_pii_filter",
    "make_synthetic_id_number",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "open_contact_point",
    "redact_pii",
    "seal_contact_point",
    "validate_id_number",
    "validate_phone",
]
