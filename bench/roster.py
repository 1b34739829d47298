"""Roster import benchmark: a realistic 50,000-student district as OneRoster 1.2 CSV, imported
into a fresh SQLite database with `hearth roster import`, then imported again (all unchanged).

    .venv/bin/python bench/roster.py [--students 50000] [--guardians 80000] [--sections 2500]
                                     [--database-url postgresql+psycopg://…/an_empty_db]

Prints the wall time and peak memory (ru_maxrss of the import process) of each run. The
district: 40 schools (elementary, middle, high), one homeroom per elementary class and two
course sections per secondary student, ~29,000 families of 1-4 children and 1-4 guardians,
links given on the student's row, the guardian's row or both, phones in the shapes SIS exports
use (a few invalid, to be rejected), home languages in an extension column, roles.csv."""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAMP = "2026-08-01T06:00:00.000Z"
AREA_CODES = [512, 737, 210, 214, 469, 713, 832, 281, 915, 956, 361, 254, 940, 806, 325, 830]
# (language value as SIS exports write it, share, given names, family names)
LANGUAGES = [
    ("en", 40, ["Emily", "James", "Sarah", "Michael", "Olivia"], ["Smith", "Johnson", "Brown"]),
    ("English", 15, ["Ava", "Noah", "Mia", "Liam"], ["Miller", "Davis", "Wilson", "Moore"]),
    ("es", 14, ["María", "José", "Lucía", "Carlos", "Rosa"], ["García", "Hernández", "López"]),
    ("Spanish", 10, ["Ana", "Luis", "Carmen", "Pedro"], ["Martínez", "Ramírez", "Flores"]),
    ("spa", 4, ["Sofía", "Diego", "Elena"], ["Torres", "Ortiz", "Núñez"]),
    ("vi", 4, ["Lan", "Minh", "Hoa", "Tuấn"], ["Nguyễn", "Trần", "Lê", "Phạm"]),
    ("zh-Hans", 3, ["Wei", "Li", "Mei", "Hao"], ["Zhang", "Wang", "Liu", "Chen"]),
    ("Arabic", 3, ["Fatima", "Omar", "Layla", "Yusuf"], ["Hassan", "Haddad", "Mansour"]),
    ("so", 2, ["Amina", "Hodan", "Abdi"], ["Warsame", "Abdullahi", "Farah"]),
    ("Hmong", 1, ["Pa", "Tou", "Mai"], ["Vang", "Xiong", "Yang"]),
    ("ht", 1, ["Marie", "Jean", "Widlene"], ["Joseph", "Pierre", "Jean-Baptiste"]),
    ("pt-BR", 1, ["Ana", "João", "Beatriz"], ["Souza", "Silva", "Costa"]),
    ("", 2, ["Sam", "Alex", "Jordan"], ["Lee", "Kim", "Park"]),
]
HEADERS = {
    "manifest.csv": "propertyName,value",
    "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "academicSessions.csv": (
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear"
    ),
    "courses.csv": (
        "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,"
        "orgSourcedId,subjects,subjectCodes"
    ),
    "classes.csv": (
        "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,"
        "location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods"
    ),
    "users.csv": (
        "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,"
        "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,"
        "userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,"
        "preferredFamilyName,primaryOrgSourcedId,pronouns,metadata.language"
    ),
    "roles.csv": (
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
        "orgSourcedId,userProfileSourcedId"
    ),
    "enrollments.csv": (
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
        "primary,beginDate,endDate"
    ),
}
YEAR = {"beginDate": "2026-08-17", "endDate": "2027-06-04"}


def phone(rng: random.Random) -> str:
    area, exchange, line = rng.choice(AREA_CODES), rng.randint(200, 989), rng.randint(0, 9999)
    shape = rng.random()
    if shape < 0.4:
        return f"({area}) {exchange}-{line:04d}"
    if shape < 0.7:
        return f"{area}-{exchange}-{line:04d}"
    if shape < 0.9:
        return f"+1{area}{exchange}{line:04d}"
    return f"{area}.{exchange}.{line:04d}"


class Writer:
    """One csv.DictWriter per OneRoster file; rows are given by column name."""

    def __init__(self, folder: Path) -> None:
        self.files = {n: open(folder / n, "w", newline="", encoding="utf-8") for n in HEADERS}  # noqa: SIM115
        self.writers = {}
        for name, header in HEADERS.items():
            self.writers[name] = csv.DictWriter(self.files[name], header.split(","), restval="")
            self.writers[name].writeheader()

    def row(self, file: str, /, **values: str) -> None:
        if file != "manifest.csv":
            values = {"status": "active", "dateLastModified": STAMP, **values}
        self.writers[file].writerow(values)

    def close(self) -> None:
        for file in self.files.values():
            file.close()


def families(rng: random.Random, students: int, guardians: int) -> list[tuple[int, int]]:
    """(children, guardians) per family: 1-4 children, 1-4 guardians, exact totals."""
    kids: list[int] = []
    left = students
    while left > 0:
        k = min(left, rng.choices([1, 2, 3, 4], [50, 33, 13, 4])[0])
        kids.append(k)
        left -= k
    adults = [1] * len(kids)
    extra = guardians - len(kids)
    while extra > 0:
        i = rng.randrange(len(kids))
        if adults[i] < 4:
            adults[i] += 1
            extra -= 1
    return list(zip(kids, adults, strict=True))


def generate(folder: Path, students: int, guardians: int, sections: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    out = Writer(folder)
    out.row("manifest.csv", propertyName="manifest.version", value="1.0")
    out.row("manifest.csv", propertyName="oneroster.version", value="1.2")
    for name in ("academicSessions", "classes", "courses", "enrollments", "orgs", "roles", "users"):
        out.row("manifest.csv", propertyName=f"file.{name}", value="bulk")
    out.row("manifest.csv", propertyName="source.systemName", value="bench")
    out.row(
        "academicSessions.csv",
        sourcedId="as-2027",
        title="2026-27",
        type="schoolYear",
        startDate=YEAR["beginDate"],
        endDate=YEAR["endDate"],
        schoolYear="2027",
    )
    out.row("orgs.csv", sourcedId="dist-1", name="Bench Unified", type="district")
    schools: dict[str, list[str]] = {}
    for band, n in (("elementary", 25), ("middle", 9), ("high", 6)):
        schools[band] = [f"sch-{band[0]}{i:02d}" for i in range(n)]
        for sid in schools[band]:
            name = f"{band.title()} School {sid[-2:]}"
            out.row("orgs.csv", sourcedId=sid, name=name, type="school", parentSourcedId="dist-1")

    school_of: dict[str, str] = {}
    invalid = 0
    student_no = guardian_no = 0
    roles: list[dict[str, str]] = []
    people: list[dict[str, str]] = []
    for kids, adults in families(rng, students, guardians):
        language, _, given_names, family_names = rng.choices(LANGUAGES, [x[1] for x in LANGUAGES])[
            0
        ]
        family = rng.choice(family_names)
        kid_ids = [f"s-{student_no + i}" for i in range(kids)]
        adult_ids = [f"g-{guardian_no + i}" for i in range(adults)]
        student_no, guardian_no = student_no + kids, guardian_no + adults
        # Where the SIS writes the link: <.4 the student's row, <.7 the guardian's, else both.
        sides = {a: rng.random() for a in adult_ids}
        for sid in kid_ids:
            grade = rng.randint(0, 12)
            band = "elementary" if grade < 6 else "middle" if grade < 9 else "high"
            school_of[sid] = school = rng.choice(schools[band])
            people.append(
                {
                    "sourcedId": sid,
                    "enabledUser": "true",
                    "givenName": rng.choice(given_names),
                    "familyName": family,
                    "identifier": sid[2:],
                    "agentSourcedIds": ",".join(
                        a for a, side in sides.items() if side < 0.4 or side >= 0.7
                    ),
                    "grades": "KG" if grade == 0 else f"{grade:02d}",
                    "primaryOrgSourcedId": school,
                    "metadata.language": language if rng.random() < 0.3 else "",
                }
            )
            roles.append({"userSourcedId": sid, "role": "student", "orgSourcedId": school})
        home = school_of[kid_ids[0]]
        for gid, side in sides.items():
            reach = rng.random()  # 93% a phone, 5% only email, 2% nothing
            number = phone(rng) if reach < 0.93 else ""
            if number and rng.random() < 0.002:
                number, invalid = "555-12", invalid + 1
            has_email = 0.93 <= reach < 0.98 or (reach < 0.93 and rng.random() < 0.6)
            column = "sms" if rng.random() < 0.7 else "phone"
            people.append(
                {
                    "sourcedId": gid,
                    "enabledUser": "false",
                    "givenName": rng.choice(given_names),
                    "familyName": family,
                    "email": f"{gid}@families.example.org" if has_email else "",
                    column: number,
                    "agentSourcedIds": ",".join(kid_ids) if side >= 0.4 else "",
                    "primaryOrgSourcedId": home,
                    "metadata.language": language,
                }
            )
            role = rng.choice(["parent", "parent", "parent", "guardian"])
            roles.append({"userSourcedId": gid, "role": role, "orgSourcedId": home})

    by_school: dict[str, list[str]] = {}
    for sid, school in school_of.items():
        by_school.setdefault(school, []).append(sid)
    secondary = schools["middle"] + schools["high"]
    elementary_kids = sum(len(by_school.get(s, [])) for s in schools["elementary"])
    secondary_kids = students - elementary_kids
    homerooms = min(max(25, round(elementary_kids / 25)), sections - len(secondary))
    counters = {"section": 0, "enrollment": 0}
    teachers: list[tuple[str, str]] = []

    def new_teacher(school: str) -> str:
        teachers.append((f"t-{len(teachers)}", school))
        return teachers[-1][0]

    def new_section(school: str, title: str, code: str, **extra: str) -> str:
        cls = f"cls-{counters['section']}"
        counters["section"] += 1
        out.row(
            "classes.csv",
            sourcedId=cls,
            title=title,
            classCode=code,
            schoolSourcedId=school,
            termSourcedIds="as-2027",
            **extra,
        )
        return cls

    def enroll(cls: str, school: str, user: str, role: str) -> None:
        out.row(
            "enrollments.csv",
            sourcedId=f"e-{counters['enrollment']}",
            classSourcedId=cls,
            schoolSourcedId=school,
            userSourcedId=user,
            role=role,
            primary="true" if role == "teacher" else "false",
            **YEAR,
        )
        counters["enrollment"] += 1

    # Elementary: one homeroom per ~25 children, one teacher each.
    for school in schools["elementary"]:
        kids = by_school.get(school, [])
        rooms = max(1, round(homerooms * len(kids) / max(1, elementary_kids)))
        for r in range(rooms):
            cls = new_section(school, f"Homeroom {r + 1}", f"HR{r + 1}", classType="homeroom")
            enroll(cls, school, new_teacher(school), "teacher")
            for kid in kids[r::rooms]:
                enroll(cls, school, kid, "student")
    # Secondary: the remaining sections, five per teacher, two per student.
    subjects = ["English", "Math", "Science", "History", "Art", "Music", "PE", "Spanish"]
    left = sections - counters["section"]
    for i, school in enumerate(secondary):
        kids = by_school.get(school, [])
        if i < len(secondary) - 1:
            count = max(1, round(left * len(kids) / max(1, secondary_kids)))
            secondary_kids -= len(kids)
        else:
            count = max(1, left)  # the last school takes what is left: exactly `sections`
        left -= count
        staff = [new_teacher(school) for _ in range(max(1, count // 5))]
        classes = []
        for c in range(count):
            subject = subjects[c % len(subjects)]
            period = str(c % 7 + 1)
            cls = new_section(
                school, f"{subject} – P{period}", f"{subject[:3].upper()}{c}", periods=period
            )
            enroll(cls, school, staff[c % len(staff)], "teacher")
            classes.append(cls)
        for kid in kids:
            for cls in rng.sample(classes, min(2, len(classes))):
                enroll(cls, school, kid, "student")

    for tid, school in teachers:
        out.row(
            "users.csv",
            sourcedId=tid,
            enabledUser="true",
            givenName="Teacher",
            familyName=tid[2:],
            identifier=tid,
            email=f"{tid}@bench.example.org",
            primaryOrgSourcedId=school,
        )
        out.row(
            "roles.csv",
            sourcedId=f"r-{tid}",
            userSourcedId=tid,
            roleType="primary",
            role="teacher",
            orgSourcedId=school,
        )
    for person in people:
        out.row("users.csv", **person)
    for role in roles:
        out.row("roles.csv", sourcedId=f"r-{role['userSourcedId']}", roleType="primary", **role)
    out.close()
    return {
        "schools": sum(len(v) for v in schools.values()),
        "sections": counters["section"],
        "teachers": len(teachers),
        "students": student_no,
        "guardians": guardian_no,
        "enrollments": counters["enrollment"],
        "invalid phones": invalid,
        "MB": round(sum(p.stat().st_size for p in folder.iterdir()) / 1e6, 1),
    }


def import_once(folder: Path, env: dict[str, str]) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "app", "roster", "import", str(folder), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"import failed:\n{result.stderr}\n{result.stdout[-2000:]}")
    return seconds, json.loads(result.stdout)


def summary(report: dict) -> str:
    parts = []
    for entity, counts in report["counts"].items():
        shown = ", ".join(f"{o} {n}" for o, n in counts.items() if n)
        parts.append(f"    {entity:<12} {shown or '-'}")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--guardians", type=int, default=80_000)
    parser.add_argument("--sections", type=int, default=2_500)
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty database to import into instead of a fresh SQLite file, e.g. "
        "postgresql+psycopg://hearth:hearth@127.0.0.1:5432/bench_roster",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hearth-bench-roster-") as tmp:
        root = Path(tmp)
        data_dir, folder = root / "data", root / "oneroster"
        data_dir.mkdir()
        folder.mkdir()
        started = time.perf_counter()
        shape = generate(folder, args.students, args.guardians, args.sections)
        print(f"generated OneRoster 1.2 CSV in {time.perf_counter() - started:.1f} s: {shape}")

        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
        env.update(HEARTH_DATA_DIR=str(data_dir), HEARTH_ENV="dev")
        os.environ.pop("HEARTH_DATABASE_URL", None)
        if args.database_url:
            env["HEARTH_DATABASE_URL"] = args.database_url
        os.environ.update(env)
        from app.core import migrations  # after the environment points at the temp data dir

        migrations.upgrade()
        print(f"database: {args.database_url or data_dir / 'hearth.db'}")

        first, report = import_once(folder, env)
        first_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"first import:  {first:6.1f} s   peak memory {first_rss:6.0f} MB")
        print(summary(report))
        print(
            f"    rejected rows: {report['rejected_total']}, warnings: {report['warnings_total']}"
        )
        second, report = import_once(folder, env)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"second import: {second:6.1f} s   peak memory (both runs) {peak:6.0f} MB")
        print(summary(report))
        changes = sum(
            c["created"] + c["updated"] + c["deactivated"] for c in report["counts"].values()
        )
        print(f"    changes on the second import: {changes} (expected 0)")
        if not args.database_url:
            db = data_dir / "hearth.db"
            print(f"database size: {db.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
