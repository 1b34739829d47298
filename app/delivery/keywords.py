"""Opt-out, opt-in and help keywords in families' SMS replies, in their home languages.

A keyword is the whole message, give or take case, accents, surrounding whitespace and
punctuation: "Stop." and "¡ALTO!" are opt-outs, "Please stop by the office" is a reply.

Carriers require STOP and HELP to work in any language a program sends in, so the opt-out
list is generous. The opt-in list is deliberately short: "Sí", "Oui", "Có", "是" and the like
are everyday answers to a teacher's question and must reach the teacher, so no
"yes"-equivalent in another language opts anyone in. English START/UNSTOP/YES are carrier
keywords (Twilio itself honours YES only after a STOP), and "resume"/"subscribe" words are
kept only where they cannot be an ordinary answer (es REANUDAR). Even so, "start" means
opt-in only for a number that has opted out; from anyone else (a "Yes" to a teacher) it
is an ordinary reply and belongs in the thread.
"""

import re
import unicodedata
from typing import Literal

Keyword = Literal["stop", "start", "help"]

_STOP_WORDS = [
    # en: the carrier set (CTIA), plus REVOKE/OPT OUT which carriers now honour too
    "stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke",
    "optout", "opt out",
    # es
    "parar", "pare", "alto", "no mas", "basta", "cancelar", "detener", "baja",
    # pt
    "sair", "descadastrar",
    # fr
    "arret", "desabonner", "se desabonner",
    # zh (simplified and traditional)
    "退订", "退訂", "停止", "取消订阅", "取消訂閱",
    # ar (hamza and harakat are folded away, so إلغاء and الغاء are one word)
    "ايقاف", "توقف", "الغاء", "الغاء الاشتراك",
    # ht
    "sispann", "kanpe",
    # so
    "jooji",
    # ru
    "стоп", "отписаться", "отписка",
    # ko
    "중지", "수신거부", "수신 거부", "그만",
    # tl
    "itigil", "hinto",
    # hmn
    "tsum",
]  # fmt: skip
_START_WORDS = ["start", "unstop", "yes", "subscribe", "resume", "reanudar"]
_HELP_WORDS = [
    "help", "info",
    "ayuda", "ajuda", "aide",
    "帮助", "幫助",
    "مساعدة",
    "ed",  # ht: èd
    "caawimo",
    "помощь",
    "도움말", "도움",
    "tulong",
]  # fmt: skip

# Vietnamese tone marks tell words apart ("dừng" is stop, "đúng" is "correct", "Dung" and
# "Huy" are names), so these match only spelled with the right marks, or with none at all,
# as people type without a Vietnamese keyboard (and as carriers print HUY).
_VIETNAMESE: dict[str, Keyword] = {
    "dừng": "stop",
    "dừng lại": "stop",
    "hủy": "stop",
    "huỷ": "stop",  # the older tone placement
    "giúp đỡ": "help",
    "trợ giúp": "help",
}

_SEPARATORS = re.compile(r"[\s\-_]+")


def _is_edge_noise(char: str) -> bool:
    # Whitespace, punctuation, symbols (emoji too) and invisible characters around a word.
    category = unicodedata.category(char)
    return category[0] in "ZCPS" or category == "Mn"


def _trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _is_edge_noise(text[start]):
        start += 1
    while end > start and _is_edge_noise(text[end - 1]):
        end -= 1
    return _SEPARATORS.sub(" ", text[start:end])


def _without_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(char for char in decomposed if unicodedata.category(char) != "Mn")
    # đ is a letter of its own, not d plus a mark; the tatweel only stretches Arabic words.
    bare = bare.replace("đ", "d").replace("\u0640", "")
    return unicodedata.normalize("NFC", bare)  # recompose Hangul syllables


def _fold(word: str) -> str:
    return _without_marks(_trim(unicodedata.normalize("NFKC", word)).casefold())


_BY_FOLDED_WORD: dict[str, Keyword] = {
    **{_fold(word): "help" for word in _HELP_WORDS},
    **{_fold(word): "start" for word in _START_WORDS},
    **{_fold(word): "stop" for word in _STOP_WORDS},
}
_BY_VIETNAMESE_WORD: dict[str, Keyword] = {
    unicodedata.normalize("NFC", word): keyword for word, keyword in _VIETNAMESE.items()
}
_BY_UNMARKED_VIETNAMESE_WORD: dict[str, Keyword] = {
    _fold(word): keyword for word, keyword in _VIETNAMESE.items()
}

_LONGEST_KEYWORD = 40  # anything longer is a message, not a keyword


def classify_keyword(body: str) -> Keyword | None:
    """The keyword `body` is, if the whole of it is one; else None (an ordinary reply)."""
    if len(body) > _LONGEST_KEYWORD * 2:
        return None
    word = unicodedata.normalize("NFC", _trim(unicodedata.normalize("NFKC", body)).casefold())
    if not word or len(word) > _LONGEST_KEYWORD:
        return None
    folded = _without_marks(word)
    if word in _BY_VIETNAMESE_WORD:
        return _BY_VIETNAMESE_WORD[word]
    if folded == word and word in _BY_UNMARKED_VIETNAMESE_WORD:
        return _BY_UNMARKED_VIETNAMESE_WORD[word]
    return _BY_FOLDED_WORD.get(folded)
