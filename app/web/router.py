"""Every staff page, by audience: everyone's own (sign-in, password, settings), teachers',
the office's and admins'."""

from fastapi import APIRouter

from app.web import account, family, interpreting
from app.web.admin import api_keys, community, dashboard, goals, schools, staff
from app.web.office import answers, broadcasts, families, roster
from app.web.teacher import compose, conferences, inbox, thread

# Each page module's routes; a module not listed here serves nothing.
PAGE_ROUTERS = (
    inbox.router,
    thread.router,
    compose.router,
    conferences.router,
    broadcasts.router,
    answers.router,
    families.router,
    roster.router,
    schools.router,
    staff.router,
    api_keys.router,
    dashboard.router,
    goals.router,
    community.router,
    account.router,
    interpreting.router,
    family.router,
)

router = APIRouter(include_in_schema=False)
for page_router in PAGE_ROUTERS:
    router.include_router(page_router)
