"""Bill and payment identifiers: the public vectors of docs/RULES.md, round trips, and what the check digits catch."""

from __future__ import annotations

import pytest

from desk.billing import (
    MUNICIPALITY_SERVICE,
    amount_of,
    barcode,
    bill_id,
    check_digit,
    is_valid_bill_id,
    is_valid_pair,
    payment_id,
)

# docs/RULES.md, "Bill and payment identifiers": a landline bill of 17,000 rials and a water bill of 10,000 rials.
VECTORS = [("7748317800142", "1770160", 17_000), ("2050327604613", "1070189", 10_000)]


def _weighted_sum(digits: str) -> int:
    weights = (2, 3, 4, 5, 6, 7)
    return sum(int(d) * weights[i % 6] for i, d in enumerate(reversed(digits))) % 11


def _typos(value: str) -> list[tuple[int, str]]:
    """Every string that differs from ``value`` in exactly one digit, with the position changed."""
    return [
        (i, value[:i] + digit + value[i + 1 :])
        for i in range(len(value))
        for digit in "0123456789"
        if digit != value[i]
    ]


@pytest.mark.parametrize(("bill", "payment", "amount"), VECTORS)
def test_domain_vectors_validate(bill, payment, amount):
    assert is_valid_bill_id(bill)
    assert is_valid_pair(bill, payment)
    assert amount_of(payment) == amount


def test_domain_vectors_are_rebuilt_from_their_parts():
    # 7748317800142: file 77483178, company 001, service 4 (landline), check 2.
    assert bill_id(77483178, 1, 4) == "7748317800142"
    # 2050327604613: file 20503276, company 046, service 1 (water), check 3.
    assert bill_id(20503276, 46, 1) == "2050327604613"
    # 1770160: 17 thousand rials, year digit 7 (e.g. 1397), period 01, C1 6, C2 0.
    assert payment_id(17_000, 1397, 1, "7748317800142") == "1770160"
    assert payment_id(10_000, 1397, 1, "2050327604613") == "1070189"


def test_check_digit_by_hand():
    # "774831780014" right to left: 4·2 + 1·3 + 0·4 + 0·5 + 8·6 + 7·7 + 1·2 + 3·3 + 8·4 + 4·5 + 7·6 + 7·7
    # = 8 + 3 + 0 + 0 + 48 + 49 + 2 + 9 + 32 + 20 + 42 + 49 = 262; 262 % 11 = 9; 11 - 9 = 2.
    assert check_digit("774831780014") == 2
    # A sum of 0 or 1 modulo 11 gives 0: "0" sums to 0; "6" sums to 6·2 = 12, and 12 % 11 = 1.
    assert check_digit("0") == 0
    assert check_digit("6") == 0
    # "5" sums to 10: 11 - 10 = 1.
    assert check_digit("5") == 1
    with pytest.raises(ValueError, match="ASCII digits"):
        check_digit("۱۲۳")


def test_municipality_bill_round_trip():
    bill = bill_id(12345, 321)
    assert bill.startswith("12345321" + str(MUNICIPALITY_SERVICE))
    assert len(bill) == 10
    assert is_valid_bill_id(bill)
    payment = payment_id(12_500_000, 1405, 7, bill)
    # 12,500 thousand rials, year digit 5, period 07, then C1 and C2.
    assert payment.startswith("12500" + "5" + "07")
    assert len(payment) == 10
    assert is_valid_pair(bill, payment)
    assert amount_of(payment) == 12_500_000
    code = barcode(bill, payment)
    assert code == bill.zfill(13) + payment.zfill(13)
    assert len(code) == 26


@pytest.mark.parametrize("amount", [1_000, 999_000, 1_234_567_000, 99_999_999_000])
@pytest.mark.parametrize("file_number", [1, 4_512, 99_999_999])
def test_round_trips_over_sizes(amount, file_number):
    bill = bill_id(file_number, 7)
    payment = payment_id(amount, 1405, 12, bill)
    assert is_valid_bill_id(bill)
    assert is_valid_pair(bill, payment)
    assert amount_of(payment) == amount
    assert 6 <= len(bill) <= 13
    assert 6 <= len(payment) <= 13
    assert len(barcode(bill, payment)) == 26


@pytest.mark.parametrize("amount", [0, -1_000, 1_500, 17_001, 100_000_000_000])
def test_amounts_that_a_payment_id_cannot_carry_are_refused(amount):
    # Not rounded: the tariff rounds totals to thousands before a bill is made (see desk.billing).
    with pytest.raises(ValueError, match="amount"):
        payment_id(amount, 1405, 1, "7748317800142")


def test_other_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="file number"):
        bill_id(0, 1)
    with pytest.raises(ValueError, match="file number"):
        bill_id(100_000_000, 1)
    with pytest.raises(ValueError, match="company code"):
        bill_id(1, 1000)
    with pytest.raises(ValueError, match="service type"):
        bill_id(1, 1, 10)
    with pytest.raises(ValueError, match="period"):
        payment_id(1000, 1405, 100, "7748317800142")
    with pytest.raises(ValueError, match="year"):
        payment_id(1000, -1, 1, "7748317800142")
    with pytest.raises(ValueError, match="bill ID"):
        payment_id(1000, 1405, 1, "7748317800143")
    with pytest.raises(ValueError, match="do not match"):
        barcode("7748317800142", "1770161")
    with pytest.raises(ValueError, match="payment ID"):
        amount_of("12345")


@pytest.mark.parametrize(
    "value", ["", "12345", "77483178001420", "7748317800l42", "۷۷۴۸۳۱۷۸۰۰۱۴۲", " 7748317800142"]
)
def test_malformed_bill_ids_are_invalid(value):
    assert not is_valid_bill_id(value)


@pytest.mark.parametrize(("bill", "payment", "_"), VECTORS)
def test_every_typo_in_a_bill_id_is_caught_unless_the_scheme_cannot(bill, payment, _):
    for position, typo in _typos(bill):
        if position == len(bill) - 1:
            # A changed check digit: the prefix's check is a single value, so it is always caught.
            assert not is_valid_bill_id(typo), typo
            continue
        caught = not is_valid_bill_id(typo)
        # Blind spot of the scheme: sums 0 and 1 (mod 11) both give check digit 0.
        blind = {_weighted_sum(bill[:-1]), _weighted_sum(typo[:-1])} == {0, 1}
        assert caught or blind, typo
        assert not is_valid_pair(typo, payment) or blind, typo


@pytest.mark.parametrize(("bill", "payment", "_"), VECTORS)
def test_every_typo_in_a_payment_id_is_caught_unless_the_scheme_cannot(bill, payment, _):
    caught_all = True
    for position, typo in _typos(payment):
        if is_valid_pair(bill, typo):
            caught_all = False
            # Only a changed amount, year or period digit can slip through, and only when both C1's and C2's
            # sums fall in the 0/1 blind spot: C1 and C2 themselves are always checked.
            assert position < len(payment) - 2, typo
            assert {_weighted_sum(payment[:-2]), _weighted_sum(typo[:-2])} == {0, 1}, typo
            assert {_weighted_sum(bill + payment[:-1]), _weighted_sum(bill + typo[:-1])} == {0, 1}, typo
    assert caught_all  # for the public vectors no single typo slips through


def test_a_payment_id_does_not_fit_another_bill():
    (bill_a, payment_a, _), (bill_b, payment_b, _) = VECTORS
    assert not is_valid_pair(bill_a, payment_b)
    assert not is_valid_pair(bill_b, payment_a)


def test_every_single_digit_typo_in_a_municipality_bill_is_caught():
    bill = bill_id(4_512, 133)
    payment = payment_id(2_160_000, 1405, 1, bill)
    for position, typo in _typos(bill):
        blind = {_weighted_sum(bill[:-1]), _weighted_sum(typo[:-1])} == {0, 1}
        assert not is_valid_bill_id(typo) or (blind and position < len(bill) - 1), typo
    for position, typo in _typos(payment):
        if is_valid_pair(bill, typo):
            assert position < len(payment) - 2, typo
