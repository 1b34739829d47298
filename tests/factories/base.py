"""The factories' common base, bound to the test's session, and the data they draw from."""

from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy.orm import Session

_ALL: list[type[SQLAlchemyModelFactory]] = []

SENDER = "+15125550100"  # the school's Twilio number, as in the demo

# (given, family) names by the family's language: accents, and the scripts families write in.
FAMILY_NAMES: dict[str, list[tuple[str, str]]] = {
    "es": [("María José", "Quintanilla"), ("José Ángel", "Núñez"), ("Inés", "Peña"),
           ("Guadalupe", "Hernández"), ("Begoña", "Ibáñez")],
    "vi": [("Lan", "Nguyễn"), ("Bảo", "Trần"), ("Hương", "Phạm"), ("Đức", "Lê")],
    "zh": [("伟", "张"), ("秀英", "王"), ("嘉怡", "陈")],
    "ar": [("فاطمة", "حداد"), ("عمر", "الخطيب"), ("ليلى", "منصور")],
    "so": [("Hodan", "Warsame"), ("Amina", "Abdi"), ("Cabdi", "Xasan")],
    "ru": [("Ольга", "Иванова"), ("Дмитрий", "Соколов")],
    "ko": [("지민", "김"), ("서연", "박")],
    "hmn": [("Pa Houa", "Vang"), ("Tou", "Xiong")],
    "pt": [("João", "Gonçalves"), ("Conceição", "Araújo")],
    "fr": [("Hélène", "Lefèvre"), ("François", "Dubois")],
    "en": [("Sarah", "O'Brien"), ("Zoë", "Miller")],
}  # fmt: skip
# Children of those families, as a roster spells them (often in Latin letters).
STUDENT_NAMES = [("Mateo", "Ruiz"), ("Sofía", "García"), ("Bảo", "Trần"), ("Wei", "Zhang"),
                 ("Fatima", "Haddad"), ("Amina", "Warsame"), ("Zoë", "Lefèvre"),
                 ("Jae-won", "Kim"), ("Łucja", "Wójcik"), ("Seán", "Ó Briain")]  # fmt: skip
STAFF_NAMES = ["Ana Rivera", "David Chen", "Ngozi Okafor", "Nguyễn Thị Hoa", "Søren Ødegaard",
               "Renée Dubois", "Javier Muñoz", "Priya Raman"]  # fmt: skip
SCHOOL_NAMES = ["Riverside Elementary", "César Chávez Elementary", "Escuela Benito Juárez",
                "Hillcrest Middle", "Lincoln Elementary", "Ho-Chunk Nation Academy"]  # fmt: skip
# A note and its translations, for messages, translations, deliveries and the cache.
NOTE = "Mateo will be absent tomorrow."
NOTE_IN = {"es": "Mateo va a faltar mañana.", "vi": "Mateo sẽ nghỉ học vào ngày mai.",
           "zh": "Mateo明天会缺课。", "ar": "سيتغيب ماتيو غدًا."}  # fmt: skip


def _family_name(language: str, n: int) -> tuple[str, str]:
    names = FAMILY_NAMES.get(language.split("-")[0], FAMILY_NAMES["es"])
    return names[n % len(names)]


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "flush"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _ALL.append(cls)


def _session() -> Session:
    return _ALL[0]._meta.sqlalchemy_session


def _link(_owner: object, rows: list[object]) -> None:
    """Adds association rows directly (collections are lazy="raise" outside explicit loads)."""
    if rows:
        _session().add_all(rows)
        _session().flush()


def all_factories() -> list[type[SQLAlchemyModelFactory]]:
    """Every factory defined (once its module is imported: tests.factories imports them all)."""
    return list(_ALL)


def bind(session: Session) -> None:
    for cls in _ALL:
        cls._meta.sqlalchemy_session = session
