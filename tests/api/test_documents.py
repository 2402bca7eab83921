"""Printable documents: the mobile-member feedback form and letter (R6.2 step 4) and the transfer letter
with stub, letter and receipt (R13.4), as print-ready HTML with Chinese fonts."""

from __future__ import annotations

from uuid import uuid4

from fastapi.testclient import TestClient

from tests.api import test_mobile as mobile
from tests.api import test_transfers as transfers

FONTS = 'font-family: "Noto Serif CJK SC"'


def html(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    text = str(response.text)
    assert FONTS in text and "SimSun" in text and "@page" in text and 'lang="zh-CN"' in text
    return text


def test_R6_2_feedback_form_and_letter(client: TestClient) -> None:
    branch, member = mobile.setup(client)
    rid = mobile.register(client, branch, member)
    draft = html(client, f"/mobile-rounds/{rid}/feedback-form.html")
    assert "草稿" in draft and "张三" in draft  # printable before the feedback, marked as a draft

    mobile.post(
        client,
        f"/mobile-rounds/{rid}/identity-confirmation",
        {"effective_on": "2025-03-20", "certificate_ref": "证明7"},
    )
    mobile.post(
        client,
        f"/mobile-rounds/{rid}/activity-filings",
        {"effective_on": "2025-06-30", "activities": [{"on": "2025-06-01", "description": "主题党日<活动>"}]},
    )
    mobile.post(client, f"/mobile-rounds/{rid}/feedback", mobile.FEEDBACK)

    form = html(client, f"/mobile-rounds/{rid}/feedback-form.html")
    assert "个体工商户和商品交易市场流动党员双重管理反馈表" in form and "草稿" not in form
    for text in (
        "张三",
        mobile.HOME,
        "南湖区个私协会城西分会党支部",
        "南湖区某某农贸市场",
        "13805730000",
        "证明7",
        "2025年6月1日",
        "主题党日&lt;活动&gt;",  # escaped
        "按时参加组织生活，经营守法。",
        "王书记",
        "反馈表2025-3",
        "2025年11月10日",
    ):
        assert text in form, text

    letter = html(client, f"/mobile-rounds/{rid}/letter.html")
    assert "<h1>函</h1>" in letter and "回　执" in letter
    for text in (mobile.HOME + "：", "张三", "南个协函〔2025〕3号", "2025年11月10日", "2025年度"):
        assert text in letter, text
    assert "归档号" not in letter
    mobile.post(
        client, f"/mobile-rounds/{rid}/receipt", {"effective_on": "2025-11-19", "archive_ref": "档案3"}
    )
    assert "归档号：档案3" in html(client, f"/mobile-rounds/{rid}/letter.html")


def test_R13_4_transfer_letter_has_stub_letter_and_receipt(client: TestClient) -> None:
    _sender, receiver, member = transfers.setup(client)
    issued = transfers.post(client, "/transfer-letters", transfers.letter(member, receiver))
    page = html(client, f"/transfer-letters/{issued['id']}/letter.html")
    assert "（存根）" in page and "中国共产党党员组织关系介绍信</h1>" in page and "回　执" in page
    assert page.count("嘉南组转字第12号") == 5  # title, stub, seam, letter, receipt
    for text in (
        "张三",
        "南湖区个私协会城西分会党支部",
        "秀洲区个私协会新城分会党支部",
        "存根12",
        "回执12",
        "2025年11月10日",
        "有效期10天",
        "2025年11月20日",  # valid until
        "中共正式党员",
    ):
        assert text in page, text
    transfers.post(client, f"/transfer-letters/{issued['id']}/acceptance", {"effective_on": "2025-11-15"})
    transfers.post(client, f"/transfer-letters/{issued['id']}/receipt", {"effective_on": "2025-11-18"})
    accepted = html(client, f"/transfer-letters/{issued['id']}/letter.html")
    assert "2025年11月15日" in accepted and "回执已于2025年11月18日寄回开具单位" in accepted


def test_unknown_documents_are_404(client: TestClient) -> None:
    for path in (
        "/mobile-rounds/{}/feedback-form.html",
        "/mobile-rounds/{}/letter.html",
        "/transfer-letters/{}/letter.html",
    ):
        response = client.get(path.format(uuid4()))
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
