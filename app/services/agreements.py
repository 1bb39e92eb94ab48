"""The agreement of an installment plan: what the cardholder agrees to, in figures and in plain words.

Stored with the plan when it is made (``InstallmentPlan.agreement``, shown as ``AgreementRead``), so
that what was agreed stays as it was said, whatever the policy or the words become later.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.domain.installments import Schedule
from app.domain.money import format_money
from app.domain.policy import Policy
from app.persistence.models import CardAccount

__all__ = ["plan_agreement"]

_AGREEMENT_TEXT = {
    "en": [
        "The amount owed is repaid in {count} monthly installments of {amount} {currency} "
        "(the last one {last} {currency}), the first due on {first_due}.",
        "Fees and penalties of {fees_waived} {currency} are waived.",
        "{accrual}",
        "Until the plan is settled, the cardholder will not apply for new credit cards.",
        "Collection activity is suspended for as long as the installments are paid as agreed.",
    ],
    "zh": [
        "欠款分{count}期按月偿还，每期{amount}元（最后一期{last}元），首期还款日为{first_due}。",
        "减免费用及违约金共{fees_waived}元。",
        "{accrual}",
        "在分期还款结清之前，持卡人承诺不再申请新的信用卡。",
        "只要按约定履行分期还款，银行暂停催收。",
    ],
}
_ACCRUAL_TEXT = {
    "en": {
        True: "No interest or fees accrue on the plan.",
        False: "Interest and fees accrue only as shown in the schedule.",
    },
    "zh": {True: "分期期间不再计收利息和费用。", False: "利息和费用仅按还款计划表所列收取。"},
}


def plan_agreement(
    account: CardAccount,
    schedule: Schedule,
    *,
    policy: Policy,
    on: date,
    channel: str,
    recording_ref: str | None,
    commitment_accepted: bool,
    lang: str,
) -> dict[str, Any]:
    """The agreement kept with a plan (``AgreementRead``): the balances it restructures, the schedule's
    figures, the commitments and how they were given, and the terms in plain words in ``lang``
    (Chinese unless English)."""
    first, last = schedule.installments[0], schedule.installments[-1]
    rules = policy.installment
    nothing_accrues = rules.annual_interest_rate == 0 and rules.monthly_fee_rate == 0
    language = "en" if lang == "en" else "zh"
    words = {
        "count": schedule.term_months,
        "amount": format_money(first.amount),
        "last": format_money(last.amount),
        "currency": policy.currency,
        "first_due": first.due_date.isoformat(),
        "fees_waived": format_money(account.fee_balance),
        "accrual": _ACCRUAL_TEXT[language][nothing_accrues],
    }
    return {
        "currency": policy.currency,
        "balance_owed": format_money(
            account.principal_balance + account.interest_balance + account.fee_balance
        ),
        "principal_balance": format_money(account.principal_balance),
        "interest_balance": format_money(account.interest_balance),
        "fees_waived": format_money(account.fee_balance),
        "restructured_principal": format_money(schedule.principal_total),
        "installments_count": schedule.term_months,
        "installment_amount": format_money(first.amount),
        "last_installment_amount": format_money(last.amount),
        "total_repayable": format_money(schedule.amount_total),
        "start_on": on.isoformat(),
        "first_due_on": first.due_date.isoformat(),
        "last_due_on": last.due_date.isoformat(),
        "interest_accrual": "none" if rules.annual_interest_rate == 0 else "per_schedule",
        "fee_accrual": "none" if rules.monthly_fee_rate == 0 else "per_schedule",
        "no_new_cards_until_settled": True,
        "commitment_accepted": commitment_accepted,
        "collection_suspended_while_kept": True,
        "channel": channel,
        "recording_ref": recording_ref,
        "lang": language,
        "terms_text": [line.format(**words) for line in _AGREEMENT_TEXT[language]],
    }
