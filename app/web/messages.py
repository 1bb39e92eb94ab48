"""Every refusal and validation message the agent UI shows, in Simplified Chinese and English: one
catalog, like the policy's reason texts.

Services and the domain raise errors with a ``code`` and ``params`` (app/services/errors.py,
app/domain/errors.py); the UI looks the code up here, so that a Chinese page never shows the API's
English detail. An error without a code is described by its kind (not found, conflict, ...) only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# code -> (Simplified Chinese, English); {name} placeholders are filled from the error's params.
MESSAGES: dict[str, tuple[str, str]] = {
    # fields of any form
    "field.required": ("此项必填。", "This field is required."),
    "field.money": (
        "请输入金额，最多两位小数，例如 1234.50。",
        "Enter an amount with at most two decimals, e.g. 1234.50.",
    ),
    "field.integer_range": (
        "请输入 {low} 到 {high} 之间的整数。",
        "Enter a whole number from {low} to {high}.",
    ),
    "field.date": ("请按 YYYY-MM-DD 格式填写日期。", "Enter a date as YYYY-MM-DD."),
    "field.length": ("请填写 {low} 到 {high} 个字符。", "Enter {low} to {high} characters."),
    "field.too_long": ("最多 {max} 个字符。", "At most {max} characters."),
    "field.choice": ("请从列表中选择。", "Choose one of the list."),
    "field.invalid": ("此项填写有误。", "This value is not valid."),
    "field.confirm": ("请勾选确认后再提交。", "Tick the confirmation box first."),
    "field.note_required": ("请填写说明。", "Write a note."),
    # waivers
    "waiver.fee_above_balance": (
        "减免费用 {amount} 元超过费用余额 {limit} 元。",
        "The fees to waive ({amount}) exceed the fee balance ({limit}).",
    ),
    "waiver.interest_above_waivable": (
        "减免利息 {amount} 元超过可减免利息 {limit} 元。",
        "The interest to waive ({amount}) exceeds the waivable interest ({limit}).",
    ),
    "waiver.nothing": ("请填写要减免的费用或利息金额。", "Enter the fees or the interest to waive."),
    "waiver.negative": ("减免金额不能为负数。", "An amount to waive cannot be negative."),
    "waiver.not_pending": (
        "减免申请 {id} 当前状态为「{status}」，不在待审批中。",
        "Fee waiver {id} is {status}, not waiting for approval.",
    ),
    "waiver.not_applied": (
        "减免 {id} 当前状态为「{status}」，只有已生效的减免可以冲正。",
        "Fee waiver {id} is {status}; only an applied waiver can be reversed.",
    ),
    "waiver.reason_required": (
        "请先询问并选择客户的困难原因。",
        "Ask for and choose the cardholder's hardship reason.",
    ),
    # approvals
    "approval.own_request": (
        "双人复核：不能审批自己提交的申请。",
        "Maker-checker: nobody may approve or reject their own request.",
    ),
    "approval.already_decided": ("审批 {id} 已处理（{status}）。", "Approval {id} is already {status}."),
    # plans
    "plan.commitment": (
        "请确认持卡人已接受协议承诺（结清前不申请新卡）。",
        "Confirm that the cardholder accepted the agreement's commitments (no new cards until settled).",
    ),
    "plan.read_terms": (
        "请确认已向持卡人完整宣读协议条款。",
        "Confirm that the agreement's terms were read to the cardholder.",
    ),
    "plan.recording": ("电话办理须填写录音编号。", "A phone agreement needs its recording reference."),
    "plan.already_active": (
        "该账户已有生效中的分期计划。",
        "The account already has an active installment plan.",
    ),
    "plan.transition": (
        "分期计划 {id} 当前状态不允许此操作。",
        "Installment plan {id} cannot do this in its current status.",
    ),
    "plan.term_choice": ("请选择分期期数。", "Choose a term."),
    # disputes
    "dispute.invalid": (
        "异议申请有填写错误的项目，请按提示修改。",
        "Some fields of the dispute are not valid; see each field.",
    ),
    "dispute.period_order": ("异议期间的结束日不能早于开始日。", "The period cannot end before it starts."),
    "dispute.evidence": (
        "证据编号最多 {max} 个，每个 1 到 200 个字符。",
        "At most {max} evidence references of 1-200 characters.",
    ),
    "dispute.transition": (
        "异议当前状态不允许改为所选状态。",
        "The dispute cannot move to that status from its current one.",
    ),
    # contacts
    "contact.invalid": (
        "联系记录有填写错误的项目，请按提示修改。",
        "Some fields of the contact are not valid; see each field.",
    ),
    "contact.callback_range": (
        "回访日期须在 {first} 至 {last} 之间。",
        "The callback date must lie from {first} to {last}.",
    ),
}

# An error without a code is described only by its kind.
KIND_MESSAGES: dict[str, tuple[str, str]] = {
    "not_found": ("找不到该记录。", "That record does not exist."),
    "conflict": ("该记录的状态已变化，请刷新后再试。", "The record has changed; reload and try again."),
    "forbidden": ("不允许此操作。", "This is not allowed."),
    "unavailable": ("服务暂时不可用，请稍后再试。", "The service is unavailable for now; try again later."),
    "invalid": ("输入有误，请检查后重试。", "Some input is not valid; check it and try again."),
}


def _pick(texts: tuple[str, str], lang: str) -> str:
    return texts[1] if lang == "en" else texts[0]


def _format(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return text


def message(code: str, lang: str, params: Mapping[str, Any] | None = None) -> str | None:
    """The catalog's words for ``code`` in ``lang``, or None for an unknown code."""
    texts = MESSAGES.get(code)
    if texts is None:
        return None
    values = {k: _format(v) for k, v in (params or {}).items()}
    try:
        return _pick(texts, lang).format(**values)
    except (KeyError, IndexError):
        return _pick(texts, lang)


def kind_message(kind: str, lang: str) -> str:
    return _pick(KIND_MESSAGES.get(kind, KIND_MESSAGES["invalid"]), lang)
