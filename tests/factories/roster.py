"""Roster imports."""

import factory

from app.roster.models import RosterImport
from tests.factories.base import Base
from tests.factories.schools import SchoolFactory

UPLOAD = """student_id,given_name,family_name,phone,email,language,relationship
S00001,Lan,Nguyễn,+15125552002,lan@family.example.org,Tiếng Việt,mother
S00002,Guadalupe,Hernández,(512) 555-2003,,es,father
"""


class RosterImportFactory(Base):
    """A guardians CSV upload waiting for its job."""

    class Meta:
        model = RosterImport

    kind = "guardians_csv"
    school_id = factory.LazyAttribute(lambda o: o.school.id)
    filename = "familias-2026.csv"
    actor = "cli"
    upload = factory.LazyFunction(lambda: UPLOAD.encode())

    class Params:
        school = factory.SubFactory(SchoolFactory)
