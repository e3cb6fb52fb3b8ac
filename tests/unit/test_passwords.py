"""The password rule: long enough and not a common password from the bundled list."""

from app.security.passwords import COMMON_FILE, common_passwords, password_problem


def test_short_passwords_are_refused():
    assert "at least 10" in password_problem("short-one")


def test_common_passwords_are_refused_whatever_their_case():
    assert "common" in password_problem("qwertyuiop")
    assert "common" in password_problem("Password123")


def test_a_long_uncommon_password_is_accepted():
    assert password_problem("correct horse battery staple") is None


def test_the_list_names_its_source_and_holds_only_what_the_length_rule_lets_through():
    header = COMMON_FILE.read_text().split("\n\n", 1)[0]
    assert "Source:" in header and "zxcvbn" in header
    assert len(common_passwords()) > 1000
    assert all(len(p) >= 10 for p in common_passwords())
