"""Which engine translates each language: the default order (Argos, an imported pair, the
multilingual model, then through English), an admin's choice per language, and what coverage
says of each (engine, model, licence, quality tier); non-commercial packages need the licence
accepted to install. Real tiny models throughout."""

import json
import zipfile
from pathlib import Path

import pytest

from app.core.errors import Forbidden, Invalid
from app.translation import engines, packages, service
from app.translation.argos import InstalledPair
from tests.conftest import MULTILINGUAL, ROOT, run_hearth

ARGOS = ROOT / "tests" / "fixtures" / "argos" / "packages"


def test_default_order_argos_then_the_multilingual_model_then_english(
    argos_models, multilingual_model
):
    es = service.find_route("en", "es")
    assert es.coverage == "direct" and es.hops[0].kind == "argos"  # Argos before the model
    ht = service.find_route("en", "ht")
    assert ht.coverage == "direct" and ht.hops[0].kind == "multilingual"
    # Spanish → Haitian Creole: the model never learned it; through English, each half by
    # the same order (Argos es→en, then the model en→ht).
    es_ht = service.find_route("es", "ht")
    assert es_ht.coverage == "pivot"
    assert [(h.source, h.target, h.kind) for h in es_ht.hops] == [
        ("es", "en", "argos"),
        ("en", "ht", "multilingual"),
    ]
    assert service.find_route("en", "so").coverage == "none"


def test_an_admins_choice_per_language(argos_models, multilingual_model):
    chose = {"es": "multilingual", "ht": "argos"}
    es = service.find_route("en", "es", chose)
    assert es.hops[0].kind == "multilingual" and es.choice == "multilingual"
    assert service.find_route("es-MX", "en", chose).hops[0].kind == "multilingual"
    # `argos` never uses the multilingual model: no route for Haitian Creole.
    assert service.find_route("en", "ht", chose).coverage == "none"
    # Preferred where it knows the language, Argos where it does not: the model has no
    # Portuguese, and the choice changes nothing for Vietnamese.
    assert service.find_route("en", "vi", {"vi": "multilingual"}).hops[0].kind == "multilingual"
    assert service.find_route("en", "vi", {"vi": "argos"}).hops[0].kind == "argos"


def test_coverage_names_engine_model_licence_and_tier(argos_models, multilingual_model):
    ht = packages.coverage_for("ht")
    assert (ht.to_family, ht.from_family) == ("direct", "direct")
    assert ht.to.engine == "multilingual" and ht.to.licences == ("MIT",)
    assert ht.to.models == ("multilingual-m2m100-tiny 0.1.0",) and ht.to.tier == "test model"
    es_ht = packages.coverage_for("ht", "es")
    assert es_ht.to.engine == "argos+multilingual" and es_ht.to.tier == "test model"
    assert "ht" in packages.installed_languages()


def test_quality_tiers_of_argos_packages():
    def pair(source, target, **extra):
        return InstalledPair(source, target, "1.9", Path("/nowhere"), **extra)

    assert engines.argos_hop(pair("en", "ko")).tier == "weak"  # published evaluations
    assert engines.argos_hop(pair("en", "fr")).tier == "good"
    assert engines.argos_hop(pair("en", "fr")).licence == "not stated"
    assert engines.argos_hop(pair("en", "ko", test_model=True)).tier == "test model"
    imported = engines.argos_hop(pair("en", "vi", imported=True, licence="CC-BY-4.0"))
    assert (imported.kind, imported.tier, imported.licence) == ("opus-mt", "unrated", "CC-BY-4.0")


def test_only_a_district_wide_admin_chooses(session, argos_models):
    from tests.factories import SchoolFactory

    school = SchoolFactory()
    from app.auth.service import AuthSubject

    school_admin = AuthSubject(role="admin", scopes=frozenset({"admin"}), school_ids=(school.id,))
    with pytest.raises(Forbidden):
        service.set_engine_choice(session, school_admin, "ko", "multilingual")
    district = AuthSubject(role="admin", scopes=frozenset({"admin"}), school_ids=None)
    with pytest.raises(Invalid, match="among auto, argos, multilingual"):
        service.set_engine_choice(session, district, "ko", "google")
    with pytest.raises(Invalid, match="English is not translated"):
        service.set_engine_choice(session, district, "en-US", "argos")
    assert service.set_engine_choice(session, district, "ko-KR", "multilingual") == "ko"
    assert service.engine_choices(session) == {"ko": "multilingual"}
    service.set_engine_choice(session, district, "ko", "auto")
    assert service.engine_choices(session) == {}


def test_the_api_refuses_a_teacher_and_a_bad_engine(client, auth, session):
    from tests.factories import SchoolFactory, StaffFactory

    teacher = StaffFactory(schools=[SchoolFactory()])
    refused = client.put(
        "/api/v1/languages/ko/engine",
        headers=auth("read,write", staff=teacher),
        json={"engine": "multilingual"},
    )
    assert refused.status_code == 403
    bad = client.put("/api/v1/languages/ko/engine", headers=auth("admin"), json={"engine": "x"})
    assert bad.status_code == 422
    assert service.engine_choices(session) == {}


def _relicensed(source: Path, out: Path, **changes) -> Path:
    """A copy of a package with its metadata changed (a stand-in for a non-commercial one)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("/metadata.json"):
                data = json.dumps({**json.loads(data), **changes}).encode()
            zout.writestr(info, data)
    return out


def test_install_file_needs_the_licence_accepted_for_non_commercial_packages(tmp_path):
    assert run_hearth(tmp_path, "db", "upgrade").returncode == 0
    nllb = _relicensed(
        MULTILINGUAL, tmp_path / "nllb.hearthmodel", family="nllb", licence="CC-BY-NC-4.0"
    )
    argos_nc = _relicensed(
        ARGOS / "translate-en_es.argosmodel", tmp_path / "nc.argosmodel", licence="CC-BY-NC-4.0"
    )
    for path in (nllb, argos_nc):
        refused = run_hearth(tmp_path, "models", "install-file", str(path))
        assert refused.returncode == 1 and "non-commercial use only" in refused.stderr
        assert "--accept-licence" in refused.stderr
    assert "none installed" in run_hearth(tmp_path, "models", "list").stdout
    done = run_hearth(
        tmp_path, "models", "install-file", "--accept-licence", str(nllb), str(argos_nc)
    )
    assert done.returncode == 0, done.stderr
    assert "multilingual multilingual-m2m100-tiny" in done.stdout and "en → es" in done.stdout
    listed = run_hearth(tmp_path, "models", "list").stdout
    assert "licence: CC-BY-NC-4.0" in listed and "multilingual (nllb, 5 languages)" in listed
    haitian = listed[listed.index("  ht ") :].splitlines()
    assert haitian[0].split()[3:6] == ["direct", "/", "direct"]  # "Haitian Creole"
    assert "multilingual (multilingual-m2m100-tiny 0.1.0)" in haitian[1]
    assert "tier: test model" in haitian[1]
    chose = run_hearth(tmp_path, "models", "engine", "es", "multilingual")
    assert chose.returncode == 0, chose.stderr
    spanish = run_hearth(tmp_path, "models", "list").stdout
    assert "engine chosen: multilingual" in spanish
