"""Authenticator-app codes and recovery codes: which are accepted, and that each works once."""

import base64

import pyotp

from app.auth.two_factor import recovery, totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_015.0  # the middle of a 30-second step
STEP = int(NOW // 30)


def code_at(step: int) -> str:
    return pyotp.TOTP(SECRET).at(step * 30)


def test_codes_are_rfc_6238_sha1_six_digits_thirty_seconds():
    uri = totp.provisioning_uri(SECRET, "admin@example.org")
    assert uri.startswith("otpauth://totp/Koinonia:admin%40example.org?")
    assert f"secret={SECRET}" in uri and "issuer=Koinonia" in uri
    assert len(code_at(STEP)) == 6 and code_at(STEP).isdigit()


def test_rfc_6238_test_vector():
    # Appendix B, SHA-1 at T=59: 94287082, whose last six digits a 6-digit code shows.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp.matching_step(secret, "287082", now=59) == 1  # 94287082 truncated to 6 digits


def test_one_step_either_side_is_accepted():
    for step in (STEP - 1, STEP, STEP + 1):
        assert totp.matching_step(SECRET, code_at(step), now=NOW) == step


def test_older_and_later_codes_are_refused():
    assert totp.matching_step(SECRET, code_at(STEP - 2), now=NOW) is None
    assert totp.matching_step(SECRET, code_at(STEP + 2), now=NOW) is None


def test_a_used_step_and_steps_before_it_are_refused():
    assert totp.matching_step(SECRET, code_at(STEP), now=NOW, after=STEP) is None
    assert totp.matching_step(SECRET, code_at(STEP - 1), now=NOW, after=STEP) is None
    assert totp.matching_step(SECRET, code_at(STEP + 1), now=NOW, after=STEP) == STEP + 1


def test_codes_typed_with_spaces_are_read_and_junk_is_refused():
    code = code_at(STEP)
    assert totp.matching_step(SECRET, f"{code[:3]} {code[3:]}", now=NOW) == STEP
    for junk in ("", "12345", "1234567", "abcdef", "9" * 10_000):
        assert totp.matching_step(SECRET, junk, now=NOW) is None


def test_qr_code_is_inline_svg():
    svg = totp.qr_svg(totp.provisioning_uri(SECRET, "a@example.org"))
    assert svg.startswith("<svg") and "<?xml" not in svg and "<script" not in svg


def test_recovery_codes_are_ten_distinct_and_hashed():
    codes = recovery.generate()
    assert len(codes) == recovery.COUNT == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert recovery.looks_like_code(code)
        assert len(recovery.hash_code(code)) == 64
        assert code not in recovery.hash_code(code)


def test_recovery_code_hash_ignores_case_spaces_and_dashes():
    code = recovery.generate()[0]
    typed = code.upper().replace("-", " ")
    assert recovery.hash_code(typed) == recovery.hash_code(code)
    assert recovery.hash_code(code) != recovery.hash_code(recovery.generate()[0])


def test_a_six_digit_code_is_not_taken_for_a_recovery_code():
    assert not recovery.looks_like_code("123456")
    assert not recovery.looks_like_code("123 456")
