"""Blind indexes and AES-GCM tokens for ID and phone numbers, and where their keys come from."""

import base64

import pytest
from roadbranch_shared.pii import (
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

ID_NUMBER = "11010519491231002X"


@pytest.fixture
def keys() -> PiiKeys:
    return PiiKeys(blind_index_key=bytes(range(32)), encryption_key=bytes(range(32, 64)))


@pytest.fixture
def other_keys() -> PiiKeys:
    return PiiKeys(blind_index_key=bytes(range(64, 96)), encryption_key=bytes(range(96, 128)))


def test_round_trip(keys: PiiKeys) -> None:
    token = encrypt(keys, ID_NUMBER, aad="driver-42")
    assert token.startswith("v1.")
    assert ID_NUMBER not in token
    assert decrypt(keys, token, aad="driver-42") == ID_NUMBER


def test_round_trip_of_chinese_text(keys: PiiKeys) -> None:
    token = encrypt(keys, "阿地惹口", aad="driver-42")
    assert decrypt(keys, token, aad="driver-42") == "阿地惹口"


def test_same_value_encrypts_differently_each_time(keys: PiiKeys) -> None:
    assert encrypt(keys, ID_NUMBER, aad="driver-42") != encrypt(keys, ID_NUMBER, aad="driver-42")


def test_token_of_another_record_does_not_decrypt(keys: PiiKeys) -> None:
    token = encrypt(keys, ID_NUMBER, aad="driver-42")
    with pytest.raises(PiiDecryptError):
        decrypt(keys, token, aad="driver-43")


def test_token_does_not_decrypt_with_another_key(keys: PiiKeys, other_keys: PiiKeys) -> None:
    token = encrypt(keys, ID_NUMBER, aad="driver-42")
    with pytest.raises(PiiDecryptError):
        decrypt(other_keys, token, aad="driver-42")


def test_tampered_token_is_refused(keys: PiiKeys) -> None:
    token = encrypt(keys, ID_NUMBER, aad="driver-42")
    raw = bytearray(base64.urlsafe_b64decode(token[3:]))
    for position in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        changed = bytearray(raw)
        changed[position] ^= 0x01
        tampered = "v1." + base64.urlsafe_b64encode(bytes(changed)).decode()
        with pytest.raises(PiiDecryptError):
            decrypt(keys, tampered, aad="driver-42")


@pytest.mark.parametrize(
    "token", ["", "v1.", "v1.AAAA", "v2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "v1.中文"]
)
def test_malformed_tokens_are_refused(keys: PiiKeys, token: str) -> None:
    with pytest.raises(PiiDecryptError):
        decrypt(keys, token, aad="driver-42")


def test_empty_aad_is_refused(keys: PiiKeys) -> None:
    with pytest.raises(ValueError, match="aad"):
        encrypt(keys, ID_NUMBER, aad="")


def test_blind_index_is_stable_hex(keys: PiiKeys) -> None:
    index = blind_index(keys, ID_NUMBER, purpose=IndexPurpose.ID_NUMBER)
    same_keys = PiiKeys(blind_index_key=bytes(range(32)), encryption_key=bytes(range(32, 64)))
    assert index == blind_index(same_keys, ID_NUMBER, purpose=IndexPurpose.ID_NUMBER)
    assert len(index) == 64
    assert int(index, 16) >= 0
    assert ID_NUMBER not in index


def test_blind_index_separates_purposes(keys: PiiKeys) -> None:
    value = "13812345678"
    phone = blind_index(keys, value, purpose=IndexPurpose.PHONE)
    as_id = blind_index(keys, value, purpose=IndexPurpose.ID_NUMBER)
    assert phone != as_id


def test_blind_index_depends_on_value_and_key(keys: PiiKeys, other_keys: PiiKeys) -> None:
    first = blind_index(keys, ID_NUMBER, purpose="id_number")
    assert first != blind_index(keys, "110105194912310039", purpose="id_number")
    assert first != blind_index(other_keys, ID_NUMBER, purpose="id_number")


@pytest.mark.parametrize("purpose", ["", "ID", "id number", "id\x00number"])
def test_blind_index_purpose_must_be_a_plain_name(keys: PiiKeys, purpose: str) -> None:
    with pytest.raises(ValueError, match="purpose"):
        blind_index(keys, ID_NUMBER, purpose=purpose)


def test_blind_index_of_empty_value_is_refused(keys: PiiKeys) -> None:
    with pytest.raises(ValueError, match="empty"):
        blind_index(keys, "", purpose="phone")


def test_keys_from_environment() -> None:
    blind, secret = generate_key(), generate_key()
    env = {"ROADBRANCH_PII_BLIND_INDEX_KEY": blind, "ROADBRANCH_PII_ENCRYPTION_KEY": secret}
    keys = PiiKeys.from_env(environ=env)
    assert keys.blind_index_key == base64.b64decode(blind)
    assert keys.encryption_key == base64.b64decode(secret)


def test_keys_from_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROSTER_PII_BLIND_INDEX_KEY", generate_key())
    monkeypatch.setenv("ROSTER_PII_ENCRYPTION_KEY", generate_key())
    keys = PiiKeys.from_env(prefix="ROSTER_PII_")
    assert decrypt(keys, encrypt(keys, "x", aad="r"), aad="r") == "x"


def test_url_safe_base64_keys_are_accepted() -> None:
    blind = base64.urlsafe_b64encode(b"\xfb" * 32).decode()  # has "-" and "_"
    env = {"ROADBRANCH_PII_BLIND_INDEX_KEY": blind, "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key()}
    assert PiiKeys.from_env(environ=env).blind_index_key == b"\xfb" * 32


def test_missing_key_error_names_the_variable() -> None:
    env = {"ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key()}
    with pytest.raises(PiiKeyError, match="ROADBRANCH_PII_ENCRYPTION_KEY is not set"):
        PiiKeys.from_env(environ=env)
    with pytest.raises(PiiKeyError, match="ROADBRANCH_PII_BLIND_INDEX_KEY is not set"):
        PiiKeys.from_env(environ={})


def test_short_key_error_names_the_variable() -> None:
    env = {
        "ROADBRANCH_PII_BLIND_INDEX_KEY": base64.b64encode(b"k" * 16).decode(),
        "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key(),
    }
    with pytest.raises(PiiKeyError, match="ROADBRANCH_PII_BLIND_INDEX_KEY must decode to 32 bytes"):
        PiiKeys.from_env(environ=env)


def test_non_base64_key_error_names_the_variable() -> None:
    env = {"ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(), "ROADBRANCH_PII_ENCRYPTION_KEY": "%%"}
    with pytest.raises(PiiKeyError, match="ROADBRANCH_PII_ENCRYPTION_KEY is not valid base64"):
        PiiKeys.from_env(environ=env)


def test_one_key_for_both_uses_is_refused() -> None:
    key = generate_key()
    env = {"ROADBRANCH_PII_BLIND_INDEX_KEY": key, "ROADBRANCH_PII_ENCRYPTION_KEY": key}
    with pytest.raises(PiiKeyError, match="different"):
        PiiKeys.from_env(environ=env)


def test_keys_of_wrong_length_are_refused_from_bytes() -> None:
    with pytest.raises(PiiKeyError, match="encryption_key must be 32 bytes"):
        PiiKeys(blind_index_key=bytes(32), encryption_key=bytes(31))


def test_keys_are_not_shown_in_repr(keys: PiiKeys) -> None:
    assert "0x" not in repr(keys)
    assert str(bytes(range(32))) not in repr(keys)


def test_generated_keys_are_random_32_bytes() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert len(base64.b64decode(first)) == 32


def test_a_contact_point_opens_only_for_its_driver_and_field_with_the_shared_key() -> None:
    keys = PiiKeys(b"\x01" * 32, b"\x02" * 32, contact_key=b"\x03" * 32)
    token = seal_contact_point(keys, "drv_1", "phone", "13900001111")
    assert "13900001111" not in token
    assert open_contact_point(keys, "drv_1", "phone", token) == "13900001111"
    for driver_id, field in (("drv_2", "phone"), ("drv_1", "wechat_id")):
        with pytest.raises(PiiDecryptError):
            open_contact_point(keys, driver_id, field, token)
    reader = PiiKeys(b"\x04" * 32, b"\x05" * 32, contact_key=b"\x03" * 32)  # notify's own keys
    assert open_contact_point(reader, "drv_1", "phone", token) == "13900001111"
    with pytest.raises(PiiKeyError, match="ROADBRANCH_PII_CONTACT_KEY is not set"):
        seal_contact_point(PiiKeys(b"\x01" * 32, b"\x02" * 32), "drv_1", "phone", "13900001111")
    with pytest.raises(PiiKeyError, match="different keys"):
        PiiKeys(b"\x01" * 32, b"\x02" * 32, contact_key=b"\x01" * 32)
