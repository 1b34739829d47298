"""STOP/START/HELP keywords in families' SMS, across their languages and typing habits."""

import pytest

from app.delivery.keywords import classify_keyword

STOP = [
    "STOP", "stop", "Stop", "STOPALL", "stop all", "UNSUBSCRIBE", "Cancel", "END", "quit",
    "REVOKE", "OPTOUT", "opt out", "Opt-Out",
    "PARAR", "alto", "No más", "NO MAS", "no   mas", "Basta", "cancelar", "DETENER",
    "PARE", "sair", "Sair",
    "ARRET", "Arrêt", "arrêt", "DESABONNER", "Désabonner",
    "退订", "停止", "取消订阅", "退訂",
    "إيقاف", "ايقاف", "توقف", "الغاء", "إلغاء",
    "SISPANN", "Kanpe",
    "JOOJI", "Jooji",
    "СТОП", "стоп", "ОТПИСАТЬСЯ", "Отписаться",
    "중지", "수신거부",
    "DUNG", "dung", "DỪNG", "Dừng", "HUY", "Hủy", "HỦY",
]  # fmt: skip
START = ["START", "start", "Unstop", "YES", "yes", "SUBSCRIBE", "Resume", "REANUDAR"]
HELP = [
    "HELP", "Help", "INFO", "info",
    "AYUDA", "ayuda", "AJUDA", "Aide", "AIDE",
    "GIUP DO", "giúp đỡ", "GIÚP ĐỠ",
    "帮助", "مساعدة", "ED", "Èd", "CAAWIMO", "ПОМОЩЬ", "помощь", "도움말",
]  # fmt: skip


@pytest.mark.parametrize("body", STOP)
def test_stop_words(body: str) -> None:
    assert classify_keyword(body) == "stop"


@pytest.mark.parametrize("body", START)
def test_start_words(body: str) -> None:
    assert classify_keyword(body) == "start"


@pytest.mark.parametrize("body", HELP)
def test_help_words(body: str) -> None:
    assert classify_keyword(body) == "help"


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("Stop.", "stop"),
        ("ALTO!!", "stop"),
        ("¡Basta!", "stop"),
        ("  stop\n", "stop"),
        ('"STOP"', "stop"),
        ("STOP 🙏", "stop"),
        ("停止。", "stop"),
        ("توقف؟", "stop"),
        ("ＳＴＯＰ", "stop"),  # full-width, as some Chinese and Japanese keyboards type it
        ("ＨＥＬＰ！", "help"),
        ("Help?", "help"),
    ],
)
def test_punctuation_whitespace_and_width_are_ignored(body: str, keyword: str) -> None:
    assert classify_keyword(body) == keyword


@pytest.mark.parametrize(
    "body",
    [
        "Please stop by the office",
        "stop sending me these at night please",
        "Sí",
        "si",
        "Oui",
        "Có",
        "是",
        "ok",
        "No",
        "Thanks!",
        "",
        "   ",
        "!!!",
        "Đúng",  # "correct" in Vietnamese: folds to "dung" but is not DỪNG
        "Dùng",
        "helpful",
        "I need help with the form",
        "STOP " * 40,
    ],
)
def test_ordinary_replies_are_not_keywords(body: str) -> None:
    assert classify_keyword(body) is None
